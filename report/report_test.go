package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var now = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func testPlan() *iamprune.Plan {
	return &iamprune.Plan{GeneratedAt: now, Account: "111122223333", Findings: 9, Actions: []iamprune.Action{
		{ID: "a1", Account: "111122223333", Principal: "arn:aws:iam::111122223333:user/alice", FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeactivateAccessKey, Target: "AKIA1", UnusedDays: 200, RemediateOn: "2026-12-01"},
		{ID: "a2", Account: "111122223333", Principal: "arn:aws:iam::111122223333:role/app", FindingType: iamprune.UnusedPermission, Kind: iamprune.KindRewritePolicy, Target: "app", UnusedDays: 95, RemediateOn: "2026-12-05",
			Services: []string{"s3"}, Policies: []iamprune.PolicyChange{{Name: "AppPolicy", Before: json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}]}`), After: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)}}}},
		{ID: "a3", Account: "444455556666", Principal: "arn:aws:iam::444455556666:role/<script>alert(1)</script>", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindNotify, Target: "x", UnusedDays: 40, RemediateOn: "2027-01-10"},
		{ID: "a4", Account: "444455556666", Principal: "arn:aws:iam::444455556666:role/old", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindNotify, Target: "old", UnusedDays: 400, RemediateOn: "2027-06-01"},
		{ID: "a5", Account: "444455556666", Principal: "arn:aws:iam::444455556666:role/held", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindExempt, Target: "held", Hold: "hold-1", HoldUntil: "2027-01-01"},
		{ID: "a6", Account: "111122223333", Principal: "arn:aws:iam::111122223333:role/ex", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindExempt, Target: "ex"},
		{ID: "a7", Account: "111122223333", Principal: "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole", FindingType: iamprune.UnusedIAMRole, Kind: iamprune.KindProtected, Target: "OrganizationAccountAccessRole"},
		{ID: "a8", Account: "111122223333", Principal: "arn:aws:iam::111122223333:user/bob", FindingType: iamprune.UnusedIAMUserPassword, Kind: iamprune.KindDeleteLoginProfile, Target: "bob", UnusedDays: 120, RemediateOn: "2026-11-01",
			Done: &iamprune.DoneRef{RunID: "r1", At: now.AddDate(0, 0, -3)}},
	}}
}

func TestCounts(t *testing.T) {
	p := testPlan()
	got := Totals(p)
	want := Counts{Findings: 9, Remediate: 2, Notify: 2, Exempt: 1, Held: 1, Protected: 1, Done: 1, Entries: 8}
	if got != want {
		t.Errorf("Totals = %+v, want %+v", got, want)
	}
	accts := ByAccount(p)
	if len(accts) != 2 || accts[0].Account != "111122223333" || accts[0].Remediate != 2 || accts[1].Notify != 2 || accts[1].Held != 1 {
		t.Errorf("ByAccount = %+v", accts)
	}
}

func TestCalendarAndHistogram(t *testing.T) {
	days, beyond := calendar(testPlan(), now)
	if len(days) != calendarDays || !days[0].Date.Equal(now.Truncate(24*time.Hour)) {
		t.Fatalf("calendar starts %v with %d days", days[0].Date, len(days))
	}
	// a1 (overdue) and a2 (today) fall on the first day, a3 on 2027-01-10, a4 beyond.
	if days[0].Count != 2 || days[36].Count != 1 || beyond != 1 {
		t.Errorf("calendar: first %d, 2027-01-10 %d (%s), beyond %d", days[0].Count, days[36].Count, days[36].Date, beyond)
	}
	h := unusedHistogram(testPlan())
	want := []int{0, 1, 0, 1, 1, 1}
	for i, b := range h {
		if b.Value != want[i] {
			t.Errorf("bucket %s = %d, want %d", b.Label, b.Value, want[i])
		}
	}
}

func TestHistory(t *testing.T) {
	at := func(d int) *time.Time { x := now.AddDate(0, 0, d); return &x }
	h := &History{
		Runs: []iamprune.Run{
			{ID: "rb", Kind: iamprune.RunRollback, StartedAt: *at(-1)},
			{ID: "r2", Kind: iamprune.RunApply, StartedAt: *at(-2), PlanCounts: map[iamprune.ActionKind]int{
				iamprune.KindNotify: 4, iamprune.KindDeleteAccessKey: 2, iamprune.KindQuarantineRole: 1, iamprune.KindExempt: 9, iamprune.KindProposePolicy: 1}},
			{ID: "r1", Kind: iamprune.RunApply, StartedAt: *at(-20), PlanCounts: map[iamprune.ActionKind]int{iamprune.KindNotify: 5}},
			{ID: "r0", Kind: iamprune.RunApply, StartedAt: *at(-30)},
		},
		Records: []iamprune.ActionRecord{
			{RunID: "r1", Status: iamprune.ResultDone, FinishedAt: at(-20)},
			{RunID: "r1", Status: iamprune.ResultFailed, FinishedAt: at(-20)},
			{RunID: "r2", Status: iamprune.ResultDone, FinishedAt: at(-2)},
			{RunID: "r2", Status: iamprune.ResultAlreadyDone, FinishedAt: at(-2)},
			{RunID: "rb", Status: iamprune.ResultDone, RollbackOf: "r2/a", FinishedAt: at(-1)},
		},
	}
	weeks := weekly(h, now)
	// 2026-11-15 is a Sunday: its week starts 2026-11-09; now's on 2026-11-30.
	if len(weeks) != 4 || weeks[0].Start.Format(time.DateOnly) != "2026-11-09" {
		t.Fatalf("weeks = %+v", weeks)
	}
	if w := weeks[0]; w.Applied != 1 || w.Failed != 1 || w.RolledBack != 0 {
		t.Errorf("first week %+v", w)
	}
	if w := weeks[3]; w.Applied != 1 || w.RolledBack != 1 {
		t.Errorf("last week %+v", w)
	}
	runs, unrecorded := perRun(h)
	if len(runs) != 2 || unrecorded != 1 || runs[0].Run.ID != "r1" || runs[0].Notify != 5 || runs[0].Remediate != 0 ||
		runs[1].Notify != 4 || runs[1].Remediate != 3 || runs[1].Propose != 1 {
		t.Errorf("perRun = %+v, %d unrecorded", runs, unrecorded)
	}
}

func TestRender(t *testing.T) {
	until := now.AddDate(0, 0, 20)
	var b bytes.Buffer
	err := Render(&b, Input{Plan: testPlan(), Now: now, ExpiringWithin: "30 days",
		Owners:  map[string]string{testPlan().Actions[0].Principal: `<img src=x onerror="alert(1)">`},
		Holds:   []iamprune.Hold{{ID: "hold-1", Account: "444455556666", Principal: "arn:aws:iam::444455556666:role/held", Until: until}, {ID: "hold-old", Until: now.AddDate(0, 0, -1)}},
		History: &History{}})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`data-tile="remediate"><span class="n">2</span>`, `data-tile="held"><span class="n">1</span>`, `data-tile="findings"><span class="n">9</span>`,
		`id="chart-calendar"`, `id="chart-weekly"`, `id="chart-runs"`, `<th scope="col">`, "<code>hold-1</code>",
		"-        &#34;s3:*&#34;,", // the policy diff
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>alert") || strings.Contains(out, "<img") || strings.Contains(out, "hold-old") || strings.Contains(out, "History unavailable") {
		t.Error("report has an unescaped principal, an ended hold or says the history is unavailable")
	}
	if regexp.MustCompile(`(?i)(src|href)=["']?https?:`).MatchString(out) {
		t.Error("report refers to the network")
	}
	// Every chart is an SVG with a title and a description, and well-formed XML.
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(out, -1)
	if len(svgs) != 8 {
		t.Errorf("%d charts, want 8", len(svgs))
	}
	for _, s := range svgs {
		if !strings.Contains(s, "<title id=") || !strings.Contains(s, "<desc id=") || !strings.Contains(s, `role="img"`) {
			t.Errorf("chart without title, desc or role: %.120s", s)
		}
		if err := xml.Unmarshal([]byte(s), new(struct{})); err != nil {
			t.Errorf("chart is not well-formed: %v: %.120s", err, s)
		}
	}
	// The embedded plan is the plan.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="iamprune-plan">(.*?)</script>`).FindStringSubmatch(out)
	var p iamprune.Plan
	if m == nil || json.Unmarshal([]byte(m[1]), &p) != nil || len(p.Actions) != 8 || p.Actions[2].Principal != testPlan().Actions[2].Principal {
		t.Errorf("embedded plan missing or wrong")
	}
}

func TestRenderWithoutHistory(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, Input{Plan: testPlan(), Now: now, HistoryNote: "the state store could not be opened: boom"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "History unavailable: the state store could not be opened: boom") || strings.Contains(out, `id="chart-weekly"`) {
		t.Error("report without history does not say so, or still draws it")
	}
	if !strings.Contains(out, `id="chart-calendar"`) {
		t.Error("the plan part is missing")
	}
	if err := Render(&b, Input{}); iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("no plan: %v", err)
	}
}

func TestByOwner(t *testing.T) {
	p := testPlan()
	owners := map[string]string{p.Actions[0].Principal: "team-a", p.Actions[1].Principal: "team-a", p.Actions[2].Principal: "team-b"}
	got := byOwner(p, owners)
	// a1, a2 (remediate) are team-a's, a3 (notify) team-b's, a4 (notify) has no owner; the
	// held, exempt, protected and done entries are not open.
	want := []column{{"team-a", []int{2, 0, 0}}, {"(no owner)", []int{0, 1, 0}}, {"team-b", []int{0, 1, 0}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("byOwner = %v, want %v", got, want)
	}
	// Beyond maxOwners owners, the smallest are summed.
	many := &iamprune.Plan{}
	owners = map[string]string{}
	for i := range 20 {
		arn := fmt.Sprintf("arn:aws:iam::111122223333:role/r%02d", i)
		owners[arn] = fmt.Sprintf("o%02d", i)
		for range i + 1 {
			many.Actions = append(many.Actions, iamprune.Action{Principal: arn, Kind: iamprune.KindNotify})
		}
	}
	got = byOwner(many, owners)
	if len(got) != maxOwners || got[0].Label != "o19" || got[maxOwners-1].Label != "9 other owners" || got[maxOwners-1].total() != 45 {
		t.Errorf("byOwner of 20 owners = %v", got)
	}
}
