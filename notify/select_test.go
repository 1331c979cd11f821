package notify

import (
	"slices"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// sim runs Select day after day against a growing notice log, recording
// what it selects as sent (or failed) the way the Sender would.
type sim struct {
	n   iamprune.Notifications
	log []iamprune.NoticeRecord
}

func (s *sim) run(now time.Time, status string, actions ...iamprune.Action) []Pending {
	plan := &iamprune.Plan{Account: acct, GeneratedAt: now, Actions: actions}
	got := Select(plan, s.log, s.n, now)
	for _, p := range got {
		for _, k := range p.Keys {
			s.log = append(s.log, iamprune.NoticeRecord{ItemKey: k, ActionID: p.Action.ID, Channel: "c", Fingerprint: p.Fingerprint, Status: status, SentAt: now})
		}
	}
	return got
}

func notices(ps []Pending) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Action.Target+": "+p.Notice)
	}
	return out
}

func TestSelectOverDays(t *testing.T) {
	s := &sim{n: iamprune.DefaultNotifications()} // reminders 14 and 3 days before, min_interval 20h
	key := keyAction("alice", "AKIA1", iamprune.KindNotify, "2026-12-30")
	moved := keyAction("alice", "AKIA1", iamprune.KindNotify, "2027-01-15")
	steps := []struct {
		at      string
		status  string
		actions []iamprune.Action
		want    []string
	}{
		{"2026-12-01T09:00:00Z", "sent", []iamprune.Action{key}, []string{"AKIA1: first notice"}},
		{"2026-12-01T15:00:00Z", "sent", []iamprune.Action{key}, nil}, // within min_interval
		{"2026-12-02T09:00:00Z", "sent", []iamprune.Action{key}, nil}, // nothing new
		{"2026-12-15T23:00:00Z", "sent", []iamprune.Action{key}, nil}, // the day before the 14-day reminder
		{"2026-12-16T09:00:00Z", "sent", []iamprune.Action{key}, []string{"AKIA1: reminder: 14 days before remediation"}},
		{"2026-12-17T09:00:00Z", "sent", []iamprune.Action{key}, nil}, // that reminder is covered
		{"2026-12-27T08:00:00Z", "failed", []iamprune.Action{key}, []string{"AKIA1: reminder: 3 days before remediation"}},
		// A failed notice does not count: the reminder is sent again.
		{"2026-12-27T10:00:00Z", "sent", []iamprune.Action{key}, []string{"AKIA1: reminder: 3 days before remediation"}},
		{"2026-12-27T11:00:00Z", "sent", []iamprune.Action{key}, nil},
		// A change is sent even within min_interval.
		{"2026-12-27T18:00:00Z", "sent", []iamprune.Action{moved}, []string{"AKIA1: changed: remediation date moved from 2026-12-30 to 2027-01-15"}},
		{"2026-12-28T09:00:00Z", "sent", []iamprune.Action{moved}, nil},
		// Reminders follow the new date.
		{"2027-01-01T09:00:00Z", "sent", []iamprune.Action{moved}, []string{"AKIA1: reminder: 14 days before remediation"}},
		{"2027-01-12T09:00:00Z", "sent", []iamprune.Action{moved}, []string{"AKIA1: reminder: 3 days before remediation"}},
		{"2027-01-14T09:00:00Z", "sent", []iamprune.Action{moved}, nil},
	}
	for _, st := range steps {
		got := notices(s.run(day(st.at), st.status, st.actions...))
		want := st.want
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: selected %q, want %q", st.at, got, want)
		}
	}
}

func TestSelectReminderWaitsForMinInterval(t *testing.T) {
	s := &sim{n: iamprune.DefaultNotifications()}
	a := keyAction("bob", "AKIA2", iamprune.KindNotify, "2026-12-30")
	for _, st := range []struct {
		at   string
		want []string
	}{
		{"2026-12-15T23:00:00Z", []string{"AKIA2: first notice"}},
		{"2026-12-16T05:00:00Z", []string{}}, // the 14-day reminder is due but the first notice is 6h old
		{"2026-12-16T20:00:00Z", []string{"AKIA2: reminder: 14 days before remediation"}},
	} {
		if got := notices(s.run(day(st.at), "sent", a)); !slices.Equal(got, st.want) {
			t.Errorf("%s: selected %q, want %q", st.at, got, st.want)
		}
	}
}

func TestSelectFirstNoticeCoversEarlierReminders(t *testing.T) {
	s := &sim{n: iamprune.DefaultNotifications()}
	a := keyAction("bob", "AKIA3", iamprune.KindNotify, "2026-12-30") // first seen 10 days before
	for _, st := range []struct {
		at   string
		want []string
	}{
		{"2026-12-20T09:00:00Z", []string{"AKIA3: first notice"}},
		{"2026-12-22T09:00:00Z", []string{}}, // the 14-day reminder day passed before the first notice
		{"2026-12-27T09:00:00Z", []string{"AKIA3: reminder: 3 days before remediation"}},
	} {
		if got := notices(s.run(day(st.at), "sent", a)); !slices.Equal(got, st.want) {
			t.Errorf("%s: selected %q, want %q", st.at, got, st.want)
		}
	}
}

func TestSelectCandidatesAndChanges(t *testing.T) {
	role := arn("role", "WebAppRole")
	noticed := func(a iamprune.Action, at string) []iamprune.NoticeRecord {
		var out []iamprune.NoticeRecord
		for _, k := range iamprune.ItemKeys(a) {
			out = append(out, iamprune.NoticeRecord{ItemKey: k, Fingerprint: Fingerprint(a), Status: iamprune.NoticeSent, SentAt: day(at)})
		}
		return out
	}
	announced := keyAction("alice", "AKIA1", iamprune.KindNotify, "2026-12-05")
	done := keyAction("alice", "AKIA9", iamprune.KindDeactivateAccessKey, "2026-11-01")
	done.Done = &iamprune.DoneRef{RunID: "r1"}
	exempt := keyAction("alice", "AKIA8", iamprune.KindExempt, "2026-11-01")
	perm := permAction(role, iamprune.KindNotify, "2026-12-20", "s3", "sqs")
	held := keyAction("alice", "AKIA7", iamprune.KindExempt, "2026-11-01")
	held.Hold, held.HoldUntil = "hold-1", "2026-12-28"
	tests := []struct {
		name   string
		now    string
		log    []iamprune.NoticeRecord
		action iamprune.Action
		want   string // "" = not selected
	}{
		{"remediation never noticed", "2026-12-06T00:00:00Z", nil,
			keyAction("alice", "AKIA1", iamprune.KindDeactivateAccessKey, "2026-12-05"), NoticeFirst},
		{"remediation on the announced date is no news", "2026-12-05T00:00:00Z", noticed(announced, "2026-11-20T00:00:00Z"),
			keyAction("alice", "AKIA1", iamprune.KindDeactivateAccessKey, "2026-11-01"), ""},
		{"remediation before the announced date", "2026-12-01T00:00:00Z", noticed(announced, "2026-11-20T00:00:00Z"),
			keyAction("alice", "AKIA1", iamprune.KindDeactivateAccessKey, "2026-11-01"),
			"changed: now deactivate-access-key (was notify); remediation date moved from 2026-12-05 to 2026-11-01"},
		{"deactivated key now to be deleted", "2026-12-20T00:00:00Z",
			noticed(keyAction("alice", "AKIA1", iamprune.KindDeactivateAccessKey, "2026-12-05"), "2026-12-05T00:00:00Z"),
			keyAction("alice", "AKIA1", iamprune.KindDeleteAccessKey, "2026-12-05"), "changed: now delete-access-key (was deactivate-access-key)"},
		{"done change", "2026-12-01T00:00:00Z", nil, done, ""},
		{"exempt", "2026-12-01T00:00:00Z", nil, exempt, ""},
		{"held after rollback: told once", "2026-12-01T00:00:00Z",
			noticed(keyAction("alice", "AKIA7", iamprune.KindDeactivateAccessKey, "2026-11-01"), "2026-10-20T00:00:00Z"), held, NoticeHeld},
		{"held, already told", "2026-12-02T00:00:00Z", noticed(held, "2026-12-01T00:00:00Z"), held, ""},
		{"service joins a noticed entry", "2026-11-29T00:00:00Z", noticed(perm, "2026-11-28T00:00:00Z"),
			permAction(role, iamprune.KindNotify, "2026-12-20", "s3", "sns", "sqs"), "changed: now also sns"},
		{"service leaves a noticed entry", "2026-11-29T00:00:00Z", noticed(perm, "2026-11-28T00:00:00Z"),
			permAction(role, iamprune.KindNotify, "2026-12-20", "sqs"), ""},
		{"failed notices are not notice", "2026-11-29T00:00:00Z",
			[]iamprune.NoticeRecord{{ItemKey: iamprune.ItemKeys(announced)[0], Fingerprint: Fingerprint(announced), Status: iamprune.NoticeFailed, SentAt: day("2026-11-28T00:00:00Z")}},
			announced, NoticeFirst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := &iamprune.Plan{Actions: []iamprune.Action{tt.action}}
			got := Select(plan, tt.log, iamprune.DefaultNotifications(), day(tt.now))
			switch {
			case tt.want == "" && len(got) != 0:
				t.Errorf("selected %q, want nothing", got[0].Notice)
			case tt.want != "" && len(got) != 1:
				t.Errorf("selected %d entries, want %q", len(got), tt.want)
			case tt.want != "" && got[0].Notice != tt.want:
				t.Errorf("notice %q, want %q", got[0].Notice, tt.want)
			case tt.want != "":
				if !slices.Equal(got[0].Keys, iamprune.ItemKeys(tt.action)) || got[0].Fingerprint != Fingerprint(tt.action) || !got[0].At.Equal(day(tt.now)) {
					t.Errorf("pending %+v", got[0])
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := permAction(arn("role", "R"), iamprune.KindDenyUnusedServices, "2026-12-20", "sqs", "ec2", "s3")
	if got, want := Fingerprint(a), "deny-unused-services|2026-12-20|ec2,s3,sqs"; got != want {
		t.Errorf("Fingerprint = %q, want %q", got, want)
	}
	if a.Services[0] != "sqs" {
		t.Error("Fingerprint reordered the action's services")
	}
}
