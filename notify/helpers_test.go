package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/snapshot"
)

// demoFacts loads the demo snapshot, whose principals carry owner, team and
// contact tags.
func demoFacts(t *testing.T) *iamprune.Facts {
	t.Helper()
	s, err := snapshot.LoadDir("../examples/demo/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Facts(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const acct = "111122223333"

func arn(kind, name string) string { return "arn:aws:iam::" + acct + ":" + kind + "/" + name }

func keyAction(user, key string, kind iamprune.ActionKind, on string) iamprune.Action {
	return iamprune.Action{ID: "id-" + user + "-" + key + "-" + string(kind), Account: acct, Principal: arn("user", user),
		FindingType: iamprune.UnusedIAMUserAccessKey, Kind: kind, Target: key, Services: []string{},
		UnusedDays: 60, RemediateOn: on, Reason: "will deactivate-access-key on " + on + " (unused 60 days, notify after 30)"}
}

func permAction(principal string, kind iamprune.ActionKind, on string, services ...string) iamprune.Action {
	p, _ := iamprune.ParseARN(principal)
	return iamprune.Action{ID: "id-" + p.Name + "-perm-" + string(kind), Account: acct, Principal: principal,
		FindingType: iamprune.UnusedPermission, Kind: kind, Target: p.Name, Services: services,
		UnusedDays: 130, RemediateOn: on, Reason: "2 services unused for at least 130 days (limit 120)"}
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// memLog is an in-memory NoticeLog.
type memLog struct {
	mu   sync.Mutex
	recs []iamprune.NoticeRecord
	err  error
}

func (l *memLog) RecordNotice(_ context.Context, n iamprune.NoticeRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.recs = append(l.recs, n)
	return nil
}

func (l *memLog) FindNotices(_ context.Context, f iamprune.NoticeFilter) ([]iamprune.NoticeRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []iamprune.NoticeRecord
	for _, r := range l.recs {
		if (f.ItemKey == "" || r.ItemKey == f.ItemKey) && (f.Status == "" || r.Status == f.Status) && (f.Account == "" || r.Account == f.Account) && !r.SentAt.Before(f.Since) {
			out = append(out, r)
		}
	}
	return out, nil
}

// fakeNotifier fails its first Fail sends with Err, then succeeds.
type fakeNotifier struct {
	name string
	fail int
	err  error
	mu   sync.Mutex
	got  []iamprune.Message
	n    int
}

func (f *fakeNotifier) Name() string { return f.name }

func (f *fakeNotifier) Send(_ context.Context, m iamprune.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n <= f.fail {
		return f.err
	}
	f.got = append(f.got, m)
	return nil
}
