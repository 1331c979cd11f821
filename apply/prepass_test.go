package apply_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// A saved plan edited to list protected principals: they are re-checked at
// apply time and never reach an executor, not even to be read.
func TestProtectedInTamperedSavedPlan(t *testing.T) {
	e := newEnv(t)
	e.opts.Saved = true
	res := e.apply(loadPlan(t, "tampered-protected"))

	want := map[string]string{
		"p-slr":    "protected: service-linked role",
		"p-glob":   "protected: matches protected pattern arn:aws:iam::*:role/BreakGlass*",
		"p-caller": "protected: the identity iamprune runs as",
		"p-org":    "protected: OrganizationAccountAccessRole",
	}
	for id, prefix := range want {
		r := result(res, id)
		if r.Status != iamprune.ResultSkipped || !strings.HasPrefix(r.Detail, prefix) {
			t.Errorf("%s: %s %q, want skipped %q", id, r.Status, r.Detail, prefix)
		}
	}
	if r := result(res, "a-key1"); r.Status != iamprune.ResultDone {
		t.Errorf("unprotected action: %+v", r)
	}
	for _, a := range e.w.seen {
		if a.ID != "a-key1" {
			t.Errorf("executor was given protected action %s (%s)", a.ID, a.Principal)
		}
	}
	if n := len(e.findingReads); n != 1 {
		t.Errorf("findings read for protected principals: %v", e.findingReads)
	}
}

func TestExemptAtApplyTime(t *testing.T) {
	alice := "arn:aws:iam::111122223333:user/alice"
	app := "arn:aws:iam::111122223333:role/app"
	tests := []struct {
		name     string
		excs     []iamprune.Exception
		results  string
		detail   map[string]string
		services string // services the deny action was applied with
	}{
		{
			name:    "principal exception",
			excs:    []iamprune.Exception{{Principal: alice, File: "exceptions.yaml", Line: 3}},
			results: "a-key1=skipped a-key2=skipped a-pw=done a-role=done a-deny=done",
			detail:  map[string]string{"a-key1": "exempt by exception " + alice + " (exceptions.yaml:3)"},
		},
		{
			name:    "limited to another finding type",
			excs:    []iamprune.Exception{{Principal: alice, FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMUserPassword}}},
			results: all(iamprune.ResultDone, remediationIDs...),
		},
		{
			name:    "expired",
			excs:    []iamprune.Exception{{Principal: "arn:aws:iam::*:user/*", Expires: now.AddDate(0, 0, -1)}},
			results: all(iamprune.ResultDone, remediationIDs...),
		},
		{
			name:    "expires today still applies",
			excs:    []iamprune.Exception{{Principal: "arn:aws:iam::*:user/*", Expires: now.Truncate(24 * time.Hour)}},
			results: "a-key1=skipped a-key2=skipped a-pw=skipped a-role=done a-deny=done",
		},
		{
			name: "some services",
			excs: []iamprune.Exception{{Principal: app, FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}, Services: []string{"s3"}}},
			// The role itself is not exempt from quarantine.
			results:  all(iamprune.ResultDone, remediationIDs...),
			detail:   map[string]string{"a-deny": "denied ec2, sqs to app; not s3: exempt by exception " + app},
			services: "ec2,sqs",
		},
		{
			name: "every service",
			excs: []iamprune.Exception{
				{Principal: app, Services: []string{"s3", "ec2"}, FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}},
				{Principal: app, Services: []string{"sqs"}, FindingTypes: []iamprune.FindingType{iamprune.UnusedPermission}},
			},
			results: "a-key1=done a-key2=done a-pw=done a-role=done a-deny=skipped",
			detail:  map[string]string{"a-deny": "exempt by exception " + app + " for ec2, s3, sqs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.Exceptions = tt.excs
			res := e.apply(basePlan())
			if got := statuses(res); got != tt.results {
				t.Fatalf("results %s, want %s", got, tt.results)
			}
			for id, d := range tt.detail {
				if got := result(res, id).Detail; got != d {
					t.Errorf("%s detail %q, want %q", id, got, d)
				}
			}
			for _, a := range e.w.seen {
				if r := result(res, a.ID); r.Status == iamprune.ResultSkipped {
					t.Errorf("exempt action %s reached an executor", a.ID)
				}
			}
			if tt.services == "" {
				return
			}
			for _, rec := range e.journal() {
				if rec.ActionID == "a-deny" {
					if got := strings.Join(rec.Services, ","); got != tt.services {
						t.Errorf("journaled services %s, want %s", got, tt.services)
					}
					if !strings.Contains(string(rec.PostImage), `"services":"`+tt.services+`"`) {
						t.Errorf("executor applied %s, want services %s", rec.PostImage, tt.services)
					}
				}
			}
		})
	}
}

func TestFindingRecheck(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(e *env)
		results string
		detail  string // of a-key1
	}{
		{"archived", func(e *env) { e.findings["f-key"].Status = iamprune.StatusArchived },
			"a-key1=skipped a-key2=skipped a-pw=done a-role=done a-deny=done", "finding is now ARCHIVED"},
		{"resolved", func(e *env) { e.findings["f-key"].Status = iamprune.StatusResolved },
			"a-key1=skipped a-key2=skipped a-pw=done a-role=done a-deny=done", "finding is now RESOLVED"},
		{"gone", func(e *env) { delete(e.findings, "f-key") },
			"a-key1=skipped a-key2=skipped a-pw=done a-role=done a-deny=done", "finding f-key no longer exists"},
		{"about someone else", func(e *env) { e.findings["f-key"].Resource = "arn:aws:iam::111122223333:user/mallory" },
			"a-key1=skipped a-key2=skipped a-pw=done a-role=done a-deny=done", "finding f-key is about arn:aws:iam::111122223333:user/mallory, not arn:aws:iam::111122223333:user/alice"},
		{"unreadable", func(e *env) {
			getter := e.opts.Findings
			e.opts.Findings = findingFunc(func(id string) (*iamprune.Finding, error) {
				if id == "f-key" {
					return nil, errors.New("ThrottlingException")
				}
				return getter.Finding(context.Background(), id)
			})
		}, "a-key1=failed a-key2=failed a-pw=done a-role=done a-deny=done", "cannot re-read finding f-key: ThrottlingException"},
		{"updated but fresh plan", func(e *env) { e.findings["f-key"].UpdatedAt = now },
			all(iamprune.ResultDone, remediationIDs...), "access key AKIAALICE1 deactivated"},
		{"snapshot mode reads no finding", func(e *env) { e.opts.Findings = nil; delete(e.findings, "f-key") },
			all(iamprune.ResultDone, remediationIDs...), "access key AKIAALICE1 deactivated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.edit(e)
			res := e.apply(basePlan())
			if got := statuses(res); got != tt.results {
				t.Fatalf("results %s, want %s", got, tt.results)
			}
			if got := result(res, "a-key1").Detail; got != tt.detail {
				t.Errorf("detail %q, want %q", got, tt.detail)
			}
			for id, n := range e.findingReads {
				if n != 1 {
					t.Errorf("finding %s read %d times in one run", id, n)
				}
			}
			if strings.Contains(tt.results, "a-key1=skipped") {
				if slices.Contains(e.w.calls, "inspect a-key1") {
					t.Error("a skipped action was still read through its executor")
				}
			}
		})
	}
}

func TestInspection(t *testing.T) {
	e := newEnv(t)
	e.w.skip["a-pw"] = "user bob no longer exists"
	e.w.inspErr["a-role"] = errors.New("AccessDenied: iam:GetRole")
	delete(e.opts.Executors, iamprune.KindDenyUnusedServices)
	e.w.set("a-key2", true)
	res := e.apply(basePlan())
	want := []iamprune.ActionResult{
		{Status: "done", Detail: "access key AKIAALICE1 deactivated"},
		{Status: "already-done", Detail: "already in the planned state"},
		{Status: "skipped", Detail: "user bob no longer exists"},
		{Status: "failed", Detail: "cannot read the live state: AccessDenied: iam:GetRole"},
		{Status: "failed", Detail: "no executor for deny-unused-services"},
	}
	for i, w := range want {
		if r := res.Results[i]; r.Status != w.Status || r.Detail != w.Detail {
			t.Errorf("%s: %s %q, want %s %q", r.ActionID, r.Status, r.Detail, w.Status, w.Detail)
		}
	}
	if n := e.w.count("apply "); n != 1 {
		t.Errorf("%d changes, want 1", n)
	}
	// Decisions are journaled too, for history: one entry per action.
	recs := e.journal()
	if len(recs) != 5 {
		t.Fatalf("%d journal entries, want 5", len(recs))
	}
	for i, rec := range recs {
		if rec.Status != want[i].Status || rec.Detail != want[i].Detail {
			t.Errorf("journal %s: %s %q", rec.ActionID, rec.Status, rec.Detail)
		}
	}
	if r := e.run(res.RunID); r.Status != iamprune.RunFailed {
		t.Errorf("run %s, want failed", r.Status)
	}
}

func TestStaleSavedPlan(t *testing.T) {
	later := lastUsed.Add(24 * time.Hour)
	tests := []struct {
		name  string
		edit  func(e *env, p *iamprune.Plan)
		stale string // "" = applies
	}{
		{"fresh", func(e *env, p *iamprune.Plan) {}, ""},
		{"finding updated", func(e *env, p *iamprune.Plan) { e.findings["f-role"].UpdatedAt = now },
			"action a-role (quarantine-role app): finding f-role was updated at 2026-11-28T12:00:00Z (the plan saw 2026-11-20T08:30:00Z)"},
		{"credential used since", func(e *env, p *iamprune.Plan) { e.w.lastUsed["a-key2"] = &later },
			"action a-key2 (deactivate-access-key AKIAALICE2): the credential was used at 2026-02-02T09:00:00Z (the plan saw 2026-02-01T09:00:00Z)"},
		{"used for the first time", func(e *env, p *iamprune.Plan) {
			p.Actions[3].Basis.LastUsed = nil
			e.w.lastUsed["a-pw"] = &later
		}, "action a-pw (delete-login-profile bob): the credential was used at 2026-02-02T09:00:00Z (the plan saw never used)"},
		{"executor skips the use too", func(e *env, p *iamprune.Plan) {
			e.w.lastUsed["a-key1"] = &later
			e.w.skip["a-key1"] = "access key AKIAALICE1 used on 2026-02-02, after the finding"
		}, "action a-key1 (deactivate-access-key AKIAALICE1): the credential was used"},
		{"no basis", func(e *env, p *iamprune.Plan) { p.Actions[4].Basis = nil },
			"action a-role (quarantine-role app): the plan records no basis to check it against"},
		{"same second", func(e *env, p *iamprune.Plan) {
			t := lastUsed.Add(300 * time.Millisecond)
			e.w.lastUsed["a-key1"] = &t
		}, ""},
		{"a role's use says nothing about one service", func(e *env, p *iamprune.Plan) { e.w.lastUsed["a-deny"] = &later }, ""},
		{"stale but already done", func(e *env, p *iamprune.Plan) {
			e.w.lastUsed["a-key1"] = &later
			e.w.set("a-key1", true)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.Saved = true
			p := basePlan()
			tt.edit(e, p)
			res := e.apply(p)
			if tt.stale == "" {
				if res.Refused != "" || res.Failed() {
					t.Fatalf("fresh saved plan refused: %+v", res)
				}
				return
			}
			if !strings.HasPrefix(res.Refused, "saved plan is stale: "+tt.stale) || !strings.HasSuffix(res.Refused, "; run iamprune plan again") {
				t.Errorf("refused %q\nwant   saved plan is stale: %s…; run iamprune plan again", res.Refused, tt.stale)
			}
			if n := e.w.count("apply "); n != 0 {
				t.Errorf("stale plan made %d changes", n)
			}
			if len(res.Results) != 0 || len(e.journal()) != 0 {
				t.Errorf("stale plan results %v, journal %v", res.Results, e.journal())
			}
			if r := e.run(res.RunID); r.Status != iamprune.RunRefused {
				t.Errorf("run %s, want refused", r.Status)
			}
		})
	}
}

// Every stale action is listed, not just the first.
func TestStaleListsAll(t *testing.T) {
	e := newEnv(t)
	e.opts.Saved = true
	e.findings["f-key"].UpdatedAt = now
	res := e.apply(basePlan())
	for _, id := range []string{"a-key1", "a-key2"} {
		if !strings.Contains(res.Refused, "action "+id+" ") {
			t.Errorf("refusal does not list %s: %s", id, res.Refused)
		}
	}
}
