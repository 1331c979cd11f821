package app

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/iamsource"
)

var demoSnapshot = filepath.Join("..", "examples", "demo", "snapshot")

func planDemoSnapshot(t *testing.T, source string) *iamprune.Plan {
	t.Helper()
	ctx := context.Background()
	in, err := LoadInputs(ctx, InputOptions{ConfigPath: filepath.Join("..", "examples", "demo", "iamprune.yaml"), Now: testNow, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(ctx, in, PlanOptions{Snapshot: demoSnapshot, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	return p.Plan
}

// entries are a plan's actions of the finding types in types, without
// finding ids, which differ by design. The analyzer's findings about what
// no longer exists (a deleted user, a rotated key) are skipped there; IAM's
// data does not name them at all, so they are left out.
func entries(p *iamprune.Plan, types ...iamprune.FindingType) []string {
	var out []string
	for _, a := range p.Actions {
		if !strings.Contains(fmt.Sprint(types), string(a.FindingType)) {
			continue
		}
		if a.Kind == iamprune.KindSkip && strings.HasSuffix(a.Reason, "no longer exists") {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s %s services=%v unused=%d remediate_on=%s",
			a.Principal, a.FindingType, a.Kind, a.Target, a.Services, a.UnusedDays, a.RemediateOn))
	}
	return out
}

// The demo planned from IAM's own data equals the analyzer plan for roles,
// keys and passwords, and (on this data) for permissions too.
func TestDemoIAMSourceEqualsAnalyzer(t *testing.T) {
	analyzer, iam := planDemoSnapshot(t, ""), planDemoSnapshot(t, iamprune.SourceIAM)
	credentials := []iamprune.FindingType{iamprune.UnusedIAMRole, iamprune.UnusedIAMUserAccessKey, iamprune.UnusedIAMUserPassword}
	want, got := entries(analyzer, credentials...), entries(iam, credentials...)
	if len(want) < 10 || !reflect.DeepEqual(got, want) {
		t.Errorf("roles, keys and passwords from IAM data:\n%s\nwant (the analyzer's):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	want, got = entries(analyzer, iamprune.UnusedPermission), entries(iam, iamprune.UnusedPermission)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("permissions from IAM data:\n%s\nwant (the analyzer's):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, a := range iam.Actions {
		if a.Kind == iamprune.KindSkip {
			t.Errorf("IAM data planned a skip: %+v", a)
		}
		if id := iamsource.FindingID(a.Account, a.Principal, a.FindingType, a.Principal[strings.LastIndexByte(a.Principal, '/')+1:]); a.FindingID != id {
			t.Errorf("%s %s: finding id %s, want the stable %s", a.Principal, a.FindingType, a.FindingID, id)
		}
	}
	if !strings.HasPrefix(iam.Source, "IAM data of snapshot") {
		t.Errorf("plan source %q does not say it came from IAM data", iam.Source)
	}
}

func TestSourceErrors(t *testing.T) {
	ctx := context.Background()
	in := Inputs{Config: iamprune.DefaultConfig(), Now: testNow}
	if _, err := MakePlan(ctx, in, PlanOptions{Snapshot: demoSnapshot, Source: "cloudtrail"}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("--source cloudtrail: %v, want EINVALID", err)
	}
}
