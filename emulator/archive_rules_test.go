package emulator

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune"
)

const basicAnalyzerName = "iamprune-unused-access"

func createRule(env *testEnv, name string, filter map[string]aatypes.Criterion) error {
	_, err := env.aa.CreateArchiveRule(ctx, &accessanalyzer.CreateArchiveRuleInput{
		AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String(name), Filter: filter,
	})
	return err
}

func mustCreateRule(t *testing.T, env *testEnv, name string, filter map[string]aatypes.Criterion) {
	t.Helper()
	if err := createRule(env, name, filter); err != nil {
		t.Fatalf("CreateArchiveRule %s: %v", name, err)
	}
}

func applyRule(env *testEnv, name string) error {
	_, err := env.aa.ApplyArchiveRule(ctx, &accessanalyzer.ApplyArchiveRuleInput{
		AnalyzerArn: aws.String(basicAnalyzerARN), RuleName: aws.String(name),
	})
	return err
}

func eqFilter(key string, vals ...string) map[string]aatypes.Criterion {
	return map[string]aatypes.Criterion{key: {Eq: vals}}
}

// findingStates reads every finding's status and updatedAt through
// ListFindingsV2, all pages.
func findingStates(t *testing.T, env *testEnv) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := accessanalyzer.NewListFindingsV2Paginator(env.aa, &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Findings {
			out[*f.Id] = string(f.Status) + " " + f.UpdatedAt.UTC().Format(time.RFC3339)
		}
	}
	return out
}

// initialStates are the basic snapshot's findings as findings.json has them.
var initialStates = map[string]string{
	"f-key-alice":          "ACTIVE 2026-11-27T00:00:00Z",
	"f-password-carol":     "ACTIVE 2026-11-27T00:00:00Z",
	"f-role-ci":            "ACTIVE 2026-11-27T00:00:00Z",
	"f-perm-app":           "ACTIVE 2026-11-27T00:00:00Z",
	"f-key-bob-archived":   "ARCHIVED 2026-04-01T00:00:00Z",
	"f-role-other-account": "RESOLVED 2026-02-02T00:00:00Z",
}

// withStates is initialStates with some findings changed at fixedNow.
func withStates(status string, ids ...string) map[string]string {
	m := maps.Clone(initialStates)
	for _, id := range ids {
		m[id] = status + " " + fixedNow.Format(time.RFC3339)
	}
	return m
}

func TestArchiveRuleLifecycle(t *testing.T) {
	env := newWriteEnv(t)
	filter := map[string]aatypes.Criterion{
		"resource":    {Eq: []string{"arn:aws:iam::111122223333:user/alice"}},
		"findingType": {Eq: []string{"UnusedIAMUserAccessKey"}},
	}
	mustCreateRule(t, env, "iamprune-alice", filter)
	if got := findingStates(t, env); !reflect.DeepEqual(got, initialStates) {
		t.Errorf("creating a rule changed findings: %v", got)
	}

	got, err := env.aa.GetArchiveRule(ctx, &accessanalyzer.GetArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("iamprune-alice")})
	if err != nil {
		t.Fatal(err)
	}
	r := got.ArchiveRule
	if *r.RuleName != "iamprune-alice" || !reflect.DeepEqual(r.Filter, filter) || !r.CreatedAt.Equal(fixedNow) || !r.UpdatedAt.Equal(fixedNow) {
		t.Errorf("GetArchiveRule = %+v", r)
	}

	later := map[string]aatypes.Criterion{"resource": {Contains: []string{"user/"}}, "status": {Neq: []string{"RESOLVED"}}, "id": {Exists: aws.Bool(true)}}
	if _, err := env.aa.UpdateArchiveRule(ctx, &accessanalyzer.UpdateArchiveRuleInput{
		AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("iamprune-alice"), Filter: later,
	}); err != nil {
		t.Fatal(err)
	}
	list, err := env.aa.ListArchiveRules(ctx, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: aws.String(basicAnalyzerName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ArchiveRules) != 1 || !reflect.DeepEqual(list.ArchiveRules[0].Filter, later) {
		t.Errorf("ListArchiveRules after update = %+v", list.ArchiveRules)
	}

	if _, err := env.aa.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("iamprune-alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = env.aa.GetArchiveRule(ctx, &accessanalyzer.GetArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("iamprune-alice")})
	var rnf *aatypes.ResourceNotFoundException
	if !errors.As(err, &rnf) || aws.ToString(rnf.ResourceId) != "iamprune-alice" || aws.ToString(rnf.ResourceType) != archiveRuleType {
		t.Errorf("GetArchiveRule after delete: %v", err)
	}

	var ops []string
	for _, c := range env.srv.Writes() {
		ops = append(ops, c.Operation)
	}
	if want := []string{"CreateArchiveRule", "UpdateArchiveRule", "DeleteArchiveRule"}; !slices.Equal(ops, want) {
		t.Errorf("Writes() = %v, want %v", ops, want)
	}
}

func TestArchiveRuleErrors(t *testing.T) {
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i)
	}
	name, other := aws.String(basicAnalyzerName), aws.String("other-analyzer")
	tests := []struct {
		name   string
		call   func(env *testEnv) error
		code   string
		status int
	}{
		{"create existing", func(env *testEnv) error { return createRule(env, "existing", eqFilter("findingType", "UnusedIAMRole")) }, "ConflictException", 409},
		{"create on unknown analyzer", func(env *testEnv) error {
			_, err := env.aa.CreateArchiveRule(ctx, &accessanalyzer.CreateArchiveRuleInput{AnalyzerName: other, RuleName: aws.String("r"), Filter: eqFilter("id", "x")})
			return err
		}, "ResourceNotFoundException", 404},
		{"unknown filter key", func(env *testEnv) error { return createRule(env, "r", eqFilter("colour", "red")) }, "ValidationException", 400},
		{"21 values", func(env *testEnv) error { return createRule(env, "r", eqFilter("resource", many...)) }, "ValidationException", 400},
		{"empty value list", func(env *testEnv) error {
			return createRule(env, "r", map[string]aatypes.Criterion{"resource": {Neq: []string{}}})
		}, "ValidationException", 400},
		{"criterion without condition", func(env *testEnv) error {
			return createRule(env, "r", map[string]aatypes.Criterion{"resource": {}})
		}, "ValidationException", 400},
		{"empty filter", func(env *testEnv) error { return createRule(env, "r", map[string]aatypes.Criterion{}) }, "ValidationException", 400},
		{"bad rule name", func(env *testEnv) error { return createRule(env, "1-starts-with-a-digit", eqFilter("id", "x")) }, "ValidationException", 400},
		{"get missing", func(env *testEnv) error {
			_, err := env.aa.GetArchiveRule(ctx, &accessanalyzer.GetArchiveRuleInput{AnalyzerName: name, RuleName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 404},
		{"update missing", func(env *testEnv) error {
			_, err := env.aa.UpdateArchiveRule(ctx, &accessanalyzer.UpdateArchiveRuleInput{AnalyzerName: name, RuleName: aws.String("nope"), Filter: eqFilter("id", "x")})
			return err
		}, "ResourceNotFoundException", 404},
		{"update with unknown key", func(env *testEnv) error {
			_, err := env.aa.UpdateArchiveRule(ctx, &accessanalyzer.UpdateArchiveRuleInput{AnalyzerName: name, RuleName: aws.String("existing"), Filter: eqFilter("colour", "x")})
			return err
		}, "ValidationException", 400},
		{"delete missing", func(env *testEnv) error {
			_, err := env.aa.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{AnalyzerName: name, RuleName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", 404},
		{"list on unknown analyzer", func(env *testEnv) error {
			_, err := env.aa.ListArchiveRules(ctx, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: other})
			return err
		}, "ResourceNotFoundException", 404},
		{"list bad token", func(env *testEnv) error {
			_, err := env.aa.ListArchiveRules(ctx, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: name, NextToken: aws.String("bm9wZQ")})
			return err
		}, "ValidationException", 400},
		{"apply missing", func(env *testEnv) error { return applyRule(env, "nope") }, "ResourceNotFoundException", 404},
		{"apply on unknown analyzer", func(env *testEnv) error {
			_, err := env.aa.ApplyArchiveRule(ctx, &accessanalyzer.ApplyArchiveRuleInput{
				AnalyzerArn: aws.String("arn:aws:access-analyzer:us-east-1:111122223333:analyzer/other"), RuleName: aws.String("existing"),
			})
			return err
		}, "ResourceNotFoundException", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			mustCreateRule(t, env, "existing", eqFilter("findingType", "UnusedIAMRole"))
			before := dump(t, env.srv)
			err := tt.call(env)
			wantAPIError(t, err, tt.code, tt.status)
			// ListArchiveRules models no ResourceNotFoundException, so
			// the SDK gives it as a generic API error.
			if !isTypedAA(err, tt.code) && tt.name != "list on unknown analyzer" {
				t.Errorf("error %T is not the SDK's typed %s", err, tt.code)
			}
			if after := dump(t, env.srv); after != before {
				t.Error("a failed call changed the state")
			}
		})
	}
}

// isTypedAA reports whether err is the SDK's typed exception for code.
func isTypedAA(err error, code string) bool {
	switch code {
	case "ConflictException":
		var e *aatypes.ConflictException
		return errors.As(err, &e)
	case "ResourceNotFoundException":
		var e *aatypes.ResourceNotFoundException
		return errors.As(err, &e)
	case "ValidationException":
		var e *aatypes.ValidationException
		return errors.As(err, &e)
	case "ServiceQuotaExceededException":
		var e *aatypes.ServiceQuotaExceededException
		return errors.As(err, &e)
	}
	return false
}

func TestArchiveRuleQuota(t *testing.T) {
	for _, quota := range []int{0, 3} {
		t.Run(fmt.Sprint("quota ", quota), func(t *testing.T) {
			env := newEnv(t, "basic", Options{MaxArchiveRules: quota, Now: func() time.Time { return fixedNow }})
			limit := quota
			if limit == 0 {
				limit = 100 // AWS's default
			}
			for i := range limit {
				mustCreateRule(t, env, fmt.Sprintf("rule-%03d", i), eqFilter("id", fmt.Sprint(i)))
			}
			err := createRule(env, "one-too-many", eqFilter("id", "x"))
			wantAPIError(t, err, "ServiceQuotaExceededException", 402)
			var q *aatypes.ServiceQuotaExceededException
			if !errors.As(err, &q) || aws.ToString(q.ResourceType) != archiveRuleType {
				t.Errorf("quota error = %v", err)
			}
			if _, err := env.aa.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("rule-000")}); err != nil {
				t.Fatal(err)
			}
			if err := createRule(env, "one-too-many", eqFilter("id", "x")); err != nil {
				t.Errorf("create after a delete freed a slot: %v", err)
			}
		})
	}
}

func TestListArchiveRulesPages(t *testing.T) {
	env := newWriteEnv(t) // PageSize 2
	names := []string{"e", "a", "d", "b", "c"}
	for _, n := range names {
		mustCreateRule(t, env, n, eqFilter("id", n))
	}
	p := accessanalyzer.NewListArchiveRulesPaginator(env.aa, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: aws.String(basicAnalyzerName)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.ArchiveRules {
			got = append(got, *r.RuleName)
		}
	}
	if want := []string{"a", "b", "c", "d", "e"}; !slices.Equal(got, want) || pages != 3 {
		t.Errorf("rules = %v in %d pages, want %v in 3", got, pages, want)
	}
	if d := env.srv.Duplicates(); len(d) != 0 {
		t.Errorf("duplicates: %v", d)
	}
	out, err := env.aa.ListArchiveRules(ctx, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: aws.String(basicAnalyzerName), MaxResults: aws.Int32(10)})
	if err != nil || len(out.ArchiveRules) != 5 || out.NextToken != nil {
		t.Errorf("one page of 10: %d rules, next %v, %v", len(out.ArchiveRules), out.NextToken, err)
	}
}

func TestCreateArchiveRuleRetry(t *testing.T) {
	env := newWriteEnv(t)
	in := &accessanalyzer.CreateArchiveRuleInput{
		AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("r"), Filter: eqFilter("id", "x"), ClientToken: aws.String("token-1"),
	}
	for i := range 2 {
		if _, err := env.aa.CreateArchiveRule(ctx, in); err != nil {
			t.Fatalf("attempt %d with the same client token: %v", i+1, err)
		}
	}
	in.ClientToken = aws.String("token-2")
	_, err := env.aa.CreateArchiveRule(ctx, in)
	wantAPIError(t, err, "ConflictException", 409)
	// The call log leaves the token out: these were the same request.
	want := Call{Service: "access-analyzer", Operation: "CreateArchiveRule",
		Params: `/analyzer/iamprune-unused-access/archive-rule {"filter":{"id":{"eq":["x"]}},"ruleName":"r"}`}
	if d := env.srv.Duplicates(); len(d) != 1 || d[0] != want {
		t.Errorf("Duplicates() = %+v, want [%+v]", d, want)
	}
}

func TestApplyArchiveRule(t *testing.T) {
	tests := []struct {
		name   string
		filter map[string]aatypes.Criterion
		want   []string // findings archived at fixedNow
	}{
		{"exact resource and type", map[string]aatypes.Criterion{
			"resource":    {Eq: []string{"arn:aws:iam::111122223333:user/alice"}},
			"findingType": {Eq: []string{"UnusedIAMUserAccessKey"}},
		}, []string{"f-key-alice"}},
		{"type only limits", map[string]aatypes.Criterion{
			"resource":    {Eq: []string{"arn:aws:iam::111122223333:user/alice"}},
			"findingType": {Eq: []string{"UnusedIAMUserPassword"}},
		}, nil},
		{"several resources", eqFilter("resource", "arn:aws:iam::111122223333:role/ci-role", "arn:aws:iam::111122223333:user/eng/carol"),
			[]string{"f-password-carol", "f-role-ci"}},
		// Only ACTIVE findings are archived: bob's stays as it was, and the
		// RESOLVED one in another account too.
		{"roles and users by contains", map[string]aatypes.Criterion{"resource": {Contains: []string{"role/", "user/eng/"}}},
			[]string{"f-password-carol", "f-role-ci", "f-perm-app"}},
		{"neq", map[string]aatypes.Criterion{"findingType": {Neq: []string{"UnusedPermission", "UnusedIAMRole"}}},
			[]string{"f-key-alice", "f-password-carol"}},
		{"no match", eqFilter("resourceOwnerAccount", "999988887777"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			mustCreateRule(t, env, "rule", tt.filter)
			if err := applyRule(env, "rule"); err != nil {
				t.Fatal(err)
			}
			want := withStates("ARCHIVED", tt.want...)
			if got := findingStates(t, env); !reflect.DeepEqual(got, want) {
				t.Errorf("findings after apply:\n got %v\nwant %v", got, want)
			}
			for _, id := range tt.want {
				f, err := env.aa.GetFindingV2(ctx, &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String(id)})
				if err != nil || f.Status != aatypes.FindingStatusArchived || !f.UpdatedAt.Equal(fixedNow) {
					t.Errorf("GetFindingV2 %s = %v %v, %v", id, f.Status, f.UpdatedAt, err)
				}
			}
			// Deleting the rule does not bring findings back.
			if _, err := env.aa.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("rule")}); err != nil {
				t.Fatal(err)
			}
			if got := findingStates(t, env); !reflect.DeepEqual(got, want) {
				t.Errorf("deleting the rule changed findings: %v", got)
			}
		})
	}
}

func TestUpdateFindings(t *testing.T) {
	arn := aws.String(basicAnalyzerARN)
	tests := []struct {
		name   string
		in     accessanalyzer.UpdateFindingsInput
		code   string            // "" for success
		want   map[string]string // states after, when it succeeds
		status int
	}{
		{name: "archive by ids", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-alice", "f-role-ci"}, Status: aatypes.FindingStatusUpdateArchived},
			want: withStates("ARCHIVED", "f-key-alice", "f-role-ci")},
		{name: "unarchive by id", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-bob-archived"}, Status: aatypes.FindingStatusUpdateActive},
			want: withStates("ACTIVE", "f-key-bob-archived")},
		{name: "already in that status", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-alice", "f-key-bob-archived"}, Status: aatypes.FindingStatusUpdateArchived},
			want: withStates("ARCHIVED", "f-key-alice")},
		{name: "by resource", in: accessanalyzer.UpdateFindingsInput{ResourceArn: aws.String("arn:aws:iam::111122223333:user/eng/carol"), Status: aatypes.FindingStatusUpdateArchived},
			want: withStates("ARCHIVED", "f-password-carol")},
		{name: "resource with only a resolved finding", in: accessanalyzer.UpdateFindingsInput{ResourceArn: aws.String("arn:aws:iam::999988887777:role/remote"), Status: aatypes.FindingStatusUpdateArchived},
			want: initialStates},
		{name: "unknown id changes nothing", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-alice", "nope"}, Status: aatypes.FindingStatusUpdateArchived},
			code: "ResourceNotFoundException", status: 404},
		{name: "resolved by id", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-role-other-account"}, Status: aatypes.FindingStatusUpdateActive},
			code: "ValidationException", status: 400},
		{name: "status RESOLVED", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-alice"}, Status: "RESOLVED"},
			code: "ValidationException", status: 400},
		{name: "neither ids nor resource", in: accessanalyzer.UpdateFindingsInput{Status: aatypes.FindingStatusUpdateArchived},
			code: "ValidationException", status: 400},
		{name: "both ids and resource", in: accessanalyzer.UpdateFindingsInput{Ids: []string{"f-key-alice"}, ResourceArn: aws.String("arn:aws:iam::111122223333:user/alice"), Status: aatypes.FindingStatusUpdateArchived},
			code: "ValidationException", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newWriteEnv(t)
			in := tt.in
			in.AnalyzerArn = arn
			_, err := env.aa.UpdateFindings(ctx, &in)
			if tt.code != "" {
				wantAPIError(t, err, tt.code, tt.status)
				if !isTypedAA(err, tt.code) {
					t.Errorf("error %T is not the SDK's typed %s", err, tt.code)
				}
				tt.want = initialStates
			} else if err != nil {
				t.Fatal(err)
			}
			if got := findingStates(t, env); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("findings:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	// The SDK refuses to send these; other clients might.
	t.Run("raw requests", func(t *testing.T) {
		env := newWriteEnv(t)
		for _, body := range []string{
			`{"analyzerArn":"` + basicAnalyzerARN + `","ids":["f-key-alice"]}`,
			`{"analyzerArn":"` + basicAnalyzerARN + `","ids":["f-key-alice"],"status":"archived"}`,
			`{"ids":["f-key-alice"],"status":"ARCHIVED"}`,
			`{"analyzerArn":"` + basicAnalyzerARN + `","ids":"f-key-alice","status":"ARCHIVED"}`,
		} {
			status, h, b := rawRequest(t, env.url, "PUT", "/finding", authFor("access-analyzer"), "application/json", body)
			if code, _ := errorCode(t, h, b); status != 400 || code != "ValidationException" {
				t.Errorf("%s: %d %s", body, status, code)
			}
		}
		if got := findingStates(t, env); !reflect.DeepEqual(got, initialStates) {
			t.Errorf("findings changed: %v", got)
		}
	})
	t.Run("wrong analyzer", func(t *testing.T) {
		env := newWriteEnv(t)
		_, err := env.aa.UpdateFindings(ctx, &accessanalyzer.UpdateFindingsInput{
			AnalyzerArn: aws.String("arn:aws:access-analyzer:us-east-1:111122223333:analyzer/other"),
			Ids:         []string{"f-key-alice"}, Status: aatypes.FindingStatusUpdateArchived,
		})
		wantAPIError(t, err, "ResourceNotFoundException", 404)
	})
}

// TestArchiveThenRestore is the sync cycle: a rule archives findings, the
// rule goes and UpdateFindings brings exactly those findings back, while a
// foreign rule stays. Dump and DumpDiff see every step.
func TestArchiveThenRestore(t *testing.T) {
	env := newWriteEnv(t)
	if err := env.srv.AddArchiveRule("team-rule", map[string]Criterion{"findingType": {Eq: []string{"UnusedPermission"}}}); err != nil {
		t.Fatal(err)
	}
	start := []byte(dump(t, env.srv))
	mustCreateRule(t, env, "iamprune-1", eqFilter("resource", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/ci-role"))
	if err := applyRule(env, "iamprune-1"); err != nil {
		t.Fatal(err)
	}
	archived := []byte(dump(t, env.srv))
	diff, err := DumpDiff(start, archived)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ArchiveRules/iamprune-1", "Findings/f-key-alice", "Findings/f-role-ci"}; !slices.Equal(diff, want) {
		t.Errorf("DumpDiff after apply = %v, want %v", diff, want)
	}
	if !strings.Contains(string(archived), `"ruleName": "team-rule"`) {
		t.Error("the dump lacks the hook's rule")
	}

	if _, err := env.aa.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("iamprune-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.aa.UpdateFindings(ctx, &accessanalyzer.UpdateFindingsInput{
		AnalyzerArn: aws.String(basicAnalyzerARN), Ids: []string{"f-key-alice", "f-role-ci"}, Status: aatypes.FindingStatusUpdateActive,
	}); err != nil {
		t.Fatal(err)
	}
	diff, err = DumpDiff(start, []byte(dump(t, env.srv)))
	if err != nil {
		t.Fatal(err)
	}
	// Back to ACTIVE, with the time of the change.
	if want := []string{"Findings/f-key-alice", "Findings/f-role-ci"}; !slices.Equal(diff, want) {
		t.Errorf("DumpDiff after restore = %v, want %v", diff, want)
	}
	if got := findingStates(t, env); !reflect.DeepEqual(got, withStates("ACTIVE", "f-key-alice", "f-role-ci")) {
		t.Errorf("findings after restore: %v", got)
	}
	list, err := env.aa.ListArchiveRules(ctx, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: aws.String(basicAnalyzerName)})
	if err != nil || len(list.ArchiveRules) != 1 || *list.ArchiveRules[0].RuleName != "team-rule" {
		t.Errorf("rules left = %+v, %v", list, err)
	}
}

func TestAddArchiveRuleHook(t *testing.T) {
	env := newWriteEnv(t)
	f := map[string]Criterion{"resource": {Eq: []string{"arn:aws:iam::111122223333:user/alice"}}}
	if err := env.srv.AddArchiveRule("team", f); err != nil {
		t.Fatal(err)
	}
	f["resource"].Eq[0] = "changed after the call"
	got, err := env.aa.GetArchiveRule(ctx, &accessanalyzer.GetArchiveRuleInput{AnalyzerName: aws.String(basicAnalyzerName), RuleName: aws.String("team")})
	if err != nil || got.ArchiveRule.Filter["resource"].Eq[0] != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("GetArchiveRule = %+v, %v", got, err)
	}
	if err := env.srv.AddArchiveRule("team", f); iamprune.ErrorCode(err) != iamprune.ECONFLICT {
		t.Errorf("duplicate: %v, want ECONFLICT", err)
	}
	if err := env.srv.AddArchiveRule("bad", map[string]Criterion{"colour": {Eq: []string{"red"}}}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("unknown key: %v, want EINVALID", err)
	}
}
