package decide

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// scenario mixes every kind of entry, with findings in no particular order,
// under the default configuration: prior notice held back what its owner
// was not notified of long enough ago.
func scenario() Input {
	alice := withPassword(withKeys(user("alice"), key("AKIAALICE1", 400), key("AKIAALICE2", 300)), 300, nil)
	bob := user("bob")
	app := role("/", "app")
	slr := role("/aws-service-role/ecs.amazonaws.com/", "AWSServiceRoleForECS")
	password := finding("f-pw", iamprune.UnusedIAMUserPassword, alice)
	password.LastAccessed = ago(100)
	roleF := finding("f-role", iamprune.UnusedIAMRole, slr)
	roleF.LastAccessed = ago(200)
	archived := finding("f-old", iamprune.UnusedIAMRole, app)
	archived.Status = iamprune.StatusArchived
	return Input{
		Findings: []iamprune.Finding{
			permFinding("f-perm", app, svc("ec2", ago(200)), svc("s3", ago(130)), svc("sns", ago(100))),
			roleF,
			keyFinding("f-keys", alice, used("AKIAALICE2", nil), used("AKIAALICE1", ago(272)), used("AKIAGONE", ago(300))),
			password,
			archived,
			permFinding("f-bob", bob, svc("s3", ago(200))),
			keyFinding("f-ghost", user("ghost"), used("AKIAGHOST", ago(300))),
		},
		Facts:      facts(alice, bob, app, slr),
		Config:     iamprune.DefaultConfig(),
		Exceptions: []iamprune.Exception{{Principal: arn("user/alice"), FindingTypes: []iamprune.FindingType{iamprune.UnusedIAMUserPassword}, Reason: "kiosk", File: "exceptions.yaml", Line: 2}},
		Now:        now,
		Notices: []iamprune.NoticeRecord{
			// Long enough ago: ec2 is denied and AKIAALICE1 deactivated.
			sent(arn("role/app")+"|UnusedPermission|app|ec2", 10),
			sent(arn("user/alice")+"|UnusedIAMUserAccessKey|AKIAALICE1", 30),
			// Too recent: AKIAALICE2 is due when its notice period ends.
			sent(arn("user/alice")+"|UnusedIAMUserAccessKey|AKIAALICE2", 3),
			// A failed channel notified no one: bob's s3 (like app's) waits.
			failed(arn("user/bob")+"|UnusedPermission|bob|s3", 20),
		},
		Warnings: []iamprune.Warning{{Source: "findings.json", Message: "finding x: unknown type ExternalAccess"}},
		Source:   "snapshot testdata/demo",
	}
}

// TestGolden pins the whole plan, ids included: the JSON shape is a public
// contract and ids must not change for the same situation.
func TestGolden(t *testing.T) {
	got, err := json.MarshalIndent(Plan(scenario()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "scenario", "plan.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("plan differs from %s (go test -update rewrites it after review):\n%s", path, got)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := Plan(scenario()), Plan(scenario())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same input gave two different plans")
	}
	// Finding order does not matter either.
	in := scenario()
	for i, j := 0, len(in.Findings)-1; i < j; i, j = i+1, j-1 {
		in.Findings[i], in.Findings[j] = in.Findings[j], in.Findings[i]
	}
	if c := Plan(in); !reflect.DeepEqual(a.Actions, c.Actions) {
		t.Errorf("reversing the findings changed the actions:\n%v\nvs\n%v", lines(a), lines(c))
	}
	ids := map[string]bool{}
	for _, act := range a.Actions {
		if len(act.ID) != 16 || ids[act.ID] {
			t.Errorf("action id %q is not a fresh 16-hex id", act.ID)
		}
		ids[act.ID] = true
	}
}

func TestIDDependsOnTheSituation(t *testing.T) {
	in := scenario()
	base := Plan(in).Actions
	// A later run, with one key a day older, keeps the same ids.
	in.Now = now.Add(24 * time.Hour)
	later := Plan(in).Actions
	if len(later) != len(base) {
		t.Fatalf("a day later: %d actions, want %d", len(later), len(base))
	}
	for i := range base {
		if base[i].Kind == later[i].Kind && base[i].ID != later[i].ID {
			t.Errorf("%s: id changed from %s to %s a day later", line(base[i]), base[i].ID, later[i].ID)
		}
	}
	// Another kind for the same target is another action.
	a := iamprune.Action{Account: acct, Principal: arn("user/alice"), FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindNotify, Target: "AKIAALICE1", FindingID: "f"}
	b := a
	b.Kind = iamprune.KindDeactivateAccessKey
	if actionID(a) == actionID(b) {
		t.Error("notify and deactivate of the same key share an id")
	}
}

func TestPlanFields(t *testing.T) {
	in := scenario()
	in.Now = time.Date(2026, 11, 28, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	p := Plan(in)
	if want := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC); !p.GeneratedAt.Equal(want) || p.GeneratedAt.Location() != time.UTC {
		t.Errorf("generated_at = %v, want %v in UTC", p.GeneratedAt, want)
	}
	if p.Account != acct || p.Source != in.Source || p.Findings != len(in.Findings) {
		t.Errorf("account=%q source=%q findings=%d", p.Account, p.Source, p.Findings)
	}
	if !reflect.DeepEqual(p.Warnings, in.Warnings) {
		t.Errorf("warnings = %v, want %v", p.Warnings, in.Warnings)
	}
	for _, a := range p.Actions {
		if a.Services == nil {
			t.Errorf("%s: services is nil, want an empty list", line(a))
		}
		if a.Account != acct || a.FindingID == "" {
			t.Errorf("%s: account %q finding id %q", line(a), a.Account, a.FindingID)
		}
	}
}

func TestEmptyInput(t *testing.T) {
	p := Plan(Input{Now: now})
	out, _ := json.Marshal(p)
	if p.Actions == nil || !bytes.Contains(out, []byte(`"actions":[]`)) {
		t.Errorf("no findings must give an empty actions list, got %s", out)
	}
	// Facts missing altogether: every principal is gone.
	p = Plan(Input{Findings: []iamprune.Finding{keyFinding("f1", user("x"), used("AKIAX", ago(300)))}, Config: config(), Now: now})
	checkLines(t, p, []string{"skip x UnusedIAMUserAccessKey days=0 on= | principal no longer exists"})
}

func TestOddFindings(t *testing.T) {
	app := role("/", "app")
	f := finding("dup", iamprune.UnusedIAMRole, app)
	f.LastAccessed = ago(200)
	other := finding("x", "ExternalAccess", app)
	p := Plan(Input{Findings: []iamprune.Finding{f, f, other}, Facts: facts(app), Config: config(), Now: now})
	checkLines(t, p, []string{
		`skip app ExternalAccess days=0 on= | unsupported finding type "ExternalAccess"`,
		"quarantine-role app UnusedIAMRole days=200 on=" + on(-80) + " | role not assumed for 200 days (limit 120)",
	})
	want := []iamprune.Warning{{Source: "findings", Message: "finding dup is listed more than once; only the first is planned"}}
	if !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("warnings = %v, want %v", p.Warnings, want)
	}
}

func TestSortOrder(t *testing.T) {
	p := Plan(scenario())
	for i := 1; i < len(p.Actions); i++ {
		a, b := p.Actions[i-1], p.Actions[i]
		if [4]string{a.Principal, string(a.FindingType), a.Target, string(a.Kind)} == [4]string{b.Principal, string(b.FindingType), b.Target, string(b.Kind)} {
			t.Errorf("two actions with the same principal, type, target and kind: %s", line(a))
		}
		if a.Principal > b.Principal || a.Principal == b.Principal && (a.FindingType > b.FindingType ||
			a.FindingType == b.FindingType && (a.Target > b.Target || a.Target == b.Target && a.Kind > b.Kind)) {
			t.Errorf("out of order:\n  %s\n  %s", line(a), line(b))
		}
	}
}
