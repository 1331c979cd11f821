package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/archive"
)

const (
	syncAnalyzer = "arn:aws:access-analyzer:us-east-1:111122223333:analyzer/unused"
	syncAcct     = "arn:aws:iam::111122223333:"
)

// fakeRules is an analyzer's archive rules and findings in memory. It
// records every call, and fails the test when a call would expose a
// covered finding: a finding one of the wanted rules covers must never be
// ACTIVE once it was archived, and a finding is only set back to ACTIVE
// when no rule covers it any more.
type fakeRules struct {
	t      *testing.T
	rules  []archive.Rule
	status map[string]string // finding id: ACTIVE or ARCHIVED
	finds  map[string]archive.Finding
	// keep are the findings that must stay archived throughout.
	keep  []string
	calls []string
	// failOn makes the call of this name ("create", ...) fail.
	failOn string
}

func (f *fakeRules) call(c string) error {
	f.calls = append(f.calls, c)
	if strings.HasPrefix(c, f.failOn+" ") && f.failOn != "" {
		return errors.New("injected failure of " + c)
	}
	return nil
}

func (f *fakeRules) covered(id string) bool {
	fd := f.finds[id]
	for _, r := range f.rules {
		if archive.Covered(r, fd.Resource, fd.Type) {
			return true
		}
	}
	return false
}

// check fails the test if a finding that must stay archived is not, or is
// archived by no rule.
func (f *fakeRules) check(after string) {
	f.t.Helper()
	for _, id := range f.keep {
		if f.status[id] != "ARCHIVED" || !f.covered(id) {
			f.t.Errorf("after %s: covered finding %s exposed (status %s, covered %v)", after, id, f.status[id], f.covered(id))
		}
	}
}

func (f *fakeRules) List(_ context.Context, name string) ([]archive.Rule, error) {
	if name != "unused" {
		f.t.Errorf("List(%q), want the analyzer's name", name)
	}
	return slices.Clone(f.rules), f.call("list")
}

func (f *fakeRules) Create(_ context.Context, _ string, r archive.Rule) error {
	if err := f.call("create " + r.Name); err != nil {
		return err
	}
	f.rules = append(f.rules, r)
	f.check("create " + r.Name)
	return nil
}

func (f *fakeRules) Update(_ context.Context, _ string, r archive.Rule) error {
	if err := f.call("update " + r.Name); err != nil {
		return err
	}
	i := slices.IndexFunc(f.rules, func(x archive.Rule) bool { return x.Name == r.Name })
	f.rules[i] = r
	f.check("update " + r.Name)
	return nil
}

func (f *fakeRules) Delete(_ context.Context, _ string, name string) error {
	if err := f.call("delete " + name); err != nil {
		return err
	}
	f.rules = slices.DeleteFunc(f.rules, func(x archive.Rule) bool { return x.Name == name })
	f.check("delete " + name)
	return nil
}

func (f *fakeRules) Apply(_ context.Context, arn, name string) error {
	if arn != syncAnalyzer {
		f.t.Errorf("Apply(%q), want the analyzer's ARN", arn)
	}
	if err := f.call("apply " + name); err != nil {
		return err
	}
	r := f.rules[slices.IndexFunc(f.rules, func(x archive.Rule) bool { return x.Name == name })]
	for id, fd := range f.finds {
		if archive.Covered(r, fd.Resource, fd.Type) {
			f.status[id] = "ARCHIVED"
		}
	}
	return nil
}

func (f *fakeRules) ArchivedFindings(context.Context, string) ([]archive.Finding, error) {
	var out []archive.Finding
	for id, fd := range f.finds {
		if f.status[id] == "ARCHIVED" {
			out = append(out, fd)
		}
	}
	slices.SortFunc(out, func(a, b archive.Finding) int { return strings.Compare(a.ID, b.ID) })
	return out, f.call("archived")
}

func (f *fakeRules) Unarchive(_ context.Context, _ string, ids []string) error {
	if err := f.call("unarchive " + strings.Join(ids, ",")); err != nil {
		return err
	}
	for _, id := range ids {
		if f.covered(id) {
			f.t.Errorf("finding %s set back to ACTIVE while a rule still covers it", id)
		}
		f.status[id] = "ACTIVE"
	}
	f.check("unarchive")
	return nil
}

// fakePublisher records publishing in the same call log.
type fakePublisher struct {
	rules   *fakeRules
	changed bool
	body    []byte
}

func (p *fakePublisher) Changed(context.Context, []byte) (bool, string, error) {
	return p.changed, "", nil
}

func (p *fakePublisher) Publish(_ context.Context, body []byte) (string, error) {
	p.body = body
	return `"etag"`, p.rules.call("publish")
}

// syncFixture: alice and bob are archived by iamprune-all-1, the role Old
// by iamprune-UnusedIAMRole-1, and a foreign rule exists. The new file
// keeps alice, drops bob and Old, adds carol (widening iamprune-all-1 while
// it narrows) and dave's password (a new rule).
func syncFixture(t *testing.T) (*fakeRules, SyncRequest) {
	t.Helper()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	alice, bob, carol, dave, old := syncAcct+"user/alice", syncAcct+"user/bob", syncAcct+"user/carol", syncAcct+"user/dave", syncAcct+"role/Old"
	principals := []string{alice, bob, carol, dave, old}
	before := []iamprune.Exception{
		{Principal: alice}, {Principal: bob},
		{Principal: old, FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMRole}},
	}
	existing, _, err := archive.Desired(before, principals, now, 100)
	if err != nil {
		t.Fatal(err)
	}
	foreign := archive.Rule{Name: "security-sandbox", Filter: map[string]archive.Criterion{"resource": {Contains: []string{"sandbox"}}}}
	f := &fakeRules{
		t: t, rules: append(existing, foreign),
		finds: map[string]archive.Finding{
			"f-alice": {ID: "f-alice", Resource: alice, Type: string(iamprune.UnusedIAMUserAccessKey)},
			"f-bob":   {ID: "f-bob", Resource: bob, Type: string(iamprune.UnusedIAMUserAccessKey)},
			"f-carol": {ID: "f-carol", Resource: carol, Type: string(iamprune.UnusedIAMUserAccessKey)},
			"f-dave":  {ID: "f-dave", Resource: dave, Type: string(iamprune.UnusedIAMUserPassword)},
			"f-old":   {ID: "f-old", Resource: old, Type: string(iamprune.UnusedIAMRole)},
		},
		status: map[string]string{"f-alice": "ARCHIVED", "f-bob": "ARCHIVED", "f-carol": "ACTIVE", "f-dave": "ACTIVE", "f-old": "ARCHIVED"},
		keep:   []string{"f-alice"},
	}
	path := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := os.WriteFile(path, []byte("exceptions: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f, SyncRequest{
		Path: path, Now: now, AnalyzerARN: syncAnalyzer, Principals: principals, Rules: f,
		Config: iamprune.Config{ExceptionPolicy: iamprune.ExceptionPolicy{MaxArchiveRules: 100}},
		Exceptions: []iamprune.Exception{
			{Principal: alice}, {Principal: carol},
			{Principal: dave, FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMUserPassword}},
		},
		Target: "s3://cfg/exceptions.yaml",
	}
}

// Sync creates and widens rules first and applies them, deletes only then,
// sets back to ACTIVE only the findings no rule covers any more, and
// publishes last: no covered finding is ever ACTIVE.
func TestSyncOrderNeverExposes(t *testing.T) {
	t.Parallel()
	f, req := syncFixture(t)
	pub := &fakePublisher{rules: f, changed: true}
	req.Publisher = pub
	s, err := PlanSync(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	rep := s.Report
	if !slices.Equal(rep.Unarchive, []string{"f-bob", "f-old"}) || !slices.Equal(rep.Foreign, []string{"security-sandbox"}) {
		t.Fatalf("unarchive %v, foreign %v; want f-bob and f-old, security-sandbox", rep.Unarchive, rep.Foreign)
	}
	// Everything the new file covers must stay archived from here on.
	f.keep = []string{"f-alice"}
	f.calls = nil
	if err := s.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create iamprune-UnusedIAMUserPassword-1",
		"update iamprune-all-1",
		"apply iamprune-UnusedIAMUserPassword-1",
		"apply iamprune-all-1",
		"delete iamprune-UnusedIAMRole-1",
		"unarchive f-bob,f-old",
		"publish",
	}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls\n%s\nwant\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
	for id, st := range map[string]string{"f-alice": "ARCHIVED", "f-carol": "ARCHIVED", "f-dave": "ARCHIVED", "f-bob": "ACTIVE", "f-old": "ACTIVE"} {
		if f.status[id] != st {
			t.Errorf("%s is %s, want %s", id, f.status[id], st)
		}
	}
	if !rep.Applied || rep.Publish.ETag != `"etag"` || string(pub.body) != "exceptions: []\n" {
		t.Errorf("applied %v, publish %+v, body %q", rep.Applied, rep.Publish, pub.body)
	}
}

// A failed write stops the sync before anything that could expose a
// finding: no deletion, no finding set back to ACTIVE, nothing published.
func TestSyncStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	for _, step := range []string{"create", "update", "apply", "delete"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			f, req := syncFixture(t)
			req.Publisher = &fakePublisher{rules: f, changed: true}
			s, err := PlanSync(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			f.calls, f.failOn = nil, step
			if err := s.Apply(context.Background()); err == nil || s.Report.Applied {
				t.Fatalf("Apply = %v, applied %v; want the injected failure", err, s.Report.Applied)
			}
			last := f.calls[len(f.calls)-1]
			if !strings.HasPrefix(last, step+" ") {
				t.Errorf("calls went on after the failed %s: %v", step, f.calls)
			}
			for _, c := range f.calls {
				if strings.HasPrefix(c, "unarchive") || c == "publish" {
					t.Errorf("after a failed %s: %s", step, c)
				}
			}
		})
	}
}

// Nothing is written when the rules would exceed the analyzer's quota,
// counting the rules that are not iamprune's.
func TestPlanSyncQuota(t *testing.T) {
	t.Parallel()
	f, req := syncFixture(t)
	req.Config.ExceptionPolicy.MaxArchiveRules = 2 // iamprune's 2 and the foreign one
	_, err := PlanSync(context.Background(), req)
	if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "quota of 2") {
		t.Fatalf("PlanSync = %v, want EINVALID about the quota", err)
	}
	if !slices.Equal(f.calls, []string{"list"}) {
		t.Errorf("calls %v, want only list", f.calls)
	}
}

// Archived findings are read only when a rule is deleted or narrowed; an
// unchanged file makes no change, and does not publish an unchanged copy.
func TestPlanSyncUpToDate(t *testing.T) {
	t.Parallel()
	f, req := syncFixture(t)
	req.Rules = f
	desired, _, err := archive.Desired(req.Exceptions, req.Principals, req.Now, 100)
	if err != nil {
		t.Fatal(err)
	}
	f.rules = desired
	req.Publisher = &fakePublisher{rules: f}
	s, err := PlanSync(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Report.Changes(); n != 0 || s.Report.Kept != len(desired) {
		t.Errorf("changes %d, kept %d; want 0 and %d", n, s.Report.Kept, len(desired))
	}
	if !slices.Equal(f.calls, []string{"list"}) {
		t.Errorf("calls %v, want only list", f.calls)
	}
}
