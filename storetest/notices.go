package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// NoticeStore is a store with a notification log, as RunNoticeLog needs it.
type NoticeStore = interface {
	iamprune.NoticeLog
	Close() error
}

// RunNoticeLog runs the notification-log suite. open must return a new,
// empty store on each call; the suite closes it. It is separate from Run
// so that a backend can pass it on its own (the log is a Store extension).
func RunNoticeLog(t *testing.T, open func(t *testing.T) NoticeStore) {
	t.Helper()
	runNoticeSuite(t, open, nil)
}

// runNoticeSuite runs the subtests of noticeSuite named in only, or all of
// them when only is empty.
func runNoticeSuite(t *testing.T, open func(t *testing.T) NoticeStore, only []string) {
	t.Helper()
	runCases(t, open, noticeSuite, only, func(s NoticeStore) iamprune.NoticeLog { return s })
}

var noticeSuite = []suiteCase[iamprune.NoticeLog]{
	{"NoticeRoundTrip", testNoticeRoundTrip},
	{"NoticeFilters", testNoticeFilters},
	{"NoticeOrder", testNoticeOrder},
	{"NoticeSentAndFailed", testNoticeSentAndFailed},
	{"NoticeManyForOneKey", testNoticeManyForOneKey},
	{"NoticeInvalid", testNoticeInvalid},
}

const (
	keyKey  = "arn:aws:iam::111122223333:user/alice|UnusedIAMUserAccessKey|AKIAALICE1"
	keyRole = "arn:aws:iam::111122223333:role/app|UnusedIAMRole|app"
	keyS3   = "arn:aws:iam::111122223333:role/app|UnusedPermission|app|s3"
)

// newNotice is a sent notice; id (in ActionID) names it in orders.
func newNotice(id, account, itemKey string, sent time.Time) iamprune.NoticeRecord {
	return iamprune.NoticeRecord{
		Account: account, ItemKey: itemKey, ActionID: id, Principal: "arn:aws:iam::111122223333:user/alice",
		Owner: "team-a", Route: "team-*", Channel: "slack-team-a", Fingerprint: "fp-" + id,
		Status: iamprune.NoticeSent, SentAt: sent, RunID: "run-1",
	}
}

func mustRecord(t *testing.T, s iamprune.NoticeLog, n iamprune.NoticeRecord) {
	t.Helper()
	if err := s.RecordNotice(context.Background(), n); err != nil {
		t.Fatalf("RecordNotice %s: %v", n.ActionID, err)
	}
}

func mustFind(t *testing.T, s iamprune.NoticeLog, f iamprune.NoticeFilter) []iamprune.NoticeRecord {
	t.Helper()
	recs, err := s.FindNotices(context.Background(), f)
	if err != nil {
		t.Fatalf("FindNotices(%+v): %v", f, err)
	}
	return recs
}

func noticeIDs(recs []iamprune.NoticeRecord) []string {
	out := make([]string, len(recs))
	for i, n := range recs {
		out[i] = n.ActionID
	}
	return out
}

func checkNotice(t *testing.T, got, want iamprune.NoticeRecord) {
	t.Helper()
	checkTime(t, want.ActionID+" sent_at", got.SentAt, want.SentAt)
	got.SentAt, want.SentAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("notice %s:\n got %+v\nwant %+v", want.ActionID, got, want)
	}
}

func testNoticeRoundTrip(t *testing.T, s iamprune.NoticeLog) {
	full := newNotice("full", "111122223333", keyS3, at(0))
	full.Owner, full.Fingerprint = "ünïcödé 'owner' <o@example.com>", "sha256:0123abcd"
	failed := iamprune.NoticeRecord{Account: "111122223333", ItemKey: keyRole, ActionID: "failed",
		Channel: "email", Status: iamprune.NoticeFailed, Error: "smtp: 550 mailbox unavailable", SentAt: at(time.Second)}
	for _, n := range []iamprune.NoticeRecord{full, failed} {
		mustRecord(t, s, n)
	}
	got := mustFind(t, s, iamprune.NoticeFilter{})
	if len(got) != 2 {
		t.Fatalf("FindNotices = %q, want full and failed", noticeIDs(got))
	}
	checkNotice(t, got[0], full)
	checkNotice(t, got[1], failed)
}

func testNoticeFilters(t *testing.T, s iamprune.NoticeLog) {
	type rec struct {
		id, account, key, status string
		sent                     time.Duration
	}
	sent, failed := iamprune.NoticeSent, iamprune.NoticeFailed
	for _, r := range []rec{
		{"a-key-1", "A", keyKey, sent, 1 * time.Hour},
		{"a-role-1", "A", keyRole, failed, 2 * time.Hour},
		{"b-key-1", "B", keyKey, sent, 3 * time.Hour},
		{"a-key-2", "A", keyKey, failed, 4 * time.Hour},
		{"a-s3-1", "A", keyS3, sent, 5 * time.Hour},
		{"a-role-2", "A", keyRole, sent, 6 * time.Hour},
	} {
		n := newNotice(r.id, r.account, r.key, at(r.sent))
		n.Status = r.status
		mustRecord(t, s, n)
	}
	// Since in another zone than the records, at exactly one of their times.
	since := at(4 * time.Hour).In(time.FixedZone("UTC-7", -7*3600))
	for _, tc := range []struct {
		name string
		f    iamprune.NoticeFilter
		want []string
	}{
		{"everything", iamprune.NoticeFilter{}, []string{"a-key-1", "a-role-1", "b-key-1", "a-key-2", "a-s3-1", "a-role-2"}},
		{"account", iamprune.NoticeFilter{Account: "B"}, []string{"b-key-1"}},
		{"item key across accounts", iamprune.NoticeFilter{ItemKey: keyKey}, []string{"a-key-1", "b-key-1", "a-key-2"}},
		{"account and item key", iamprune.NoticeFilter{Account: "A", ItemKey: keyKey}, []string{"a-key-1", "a-key-2"}},
		{"status sent", iamprune.NoticeFilter{Status: sent}, []string{"a-key-1", "b-key-1", "a-s3-1", "a-role-2"}},
		{"status failed", iamprune.NoticeFilter{Account: "A", Status: failed}, []string{"a-role-1", "a-key-2"}},
		{"since is inclusive", iamprune.NoticeFilter{Since: since}, []string{"a-key-2", "a-s3-1", "a-role-2"}},
		{"since a nanosecond later", iamprune.NoticeFilter{Since: since.Add(time.Nanosecond)}, []string{"a-s3-1", "a-role-2"}},
		{"every field", iamprune.NoticeFilter{Account: "A", ItemKey: keyRole, Status: sent, Since: at(time.Hour)}, []string{"a-role-2"}},
		{"a service key is not its principal's other keys", iamprune.NoticeFilter{ItemKey: keyS3}, []string{"a-s3-1"}},
		{"unknown account", iamprune.NoticeFilter{Account: "C"}, []string{}},
		{"since after everything", iamprune.NoticeFilter{Since: at(7 * time.Hour)}, []string{}},
	} {
		if got := noticeIDs(mustFind(t, s, tc.f)); !equal(got, tc.want) {
			t.Errorf("%s: FindNotices(%+v) = %q, want %q", tc.name, tc.f, got, tc.want)
		}
	}
}

// Oldest first by sent time, whatever the write order; equal times keep
// the write order (one run sends one item to several channels at once).
func testNoticeOrder(t *testing.T, s iamprune.NoticeLog) {
	for _, n := range []iamprune.NoticeRecord{
		newNotice("third", "A", keyKey, at(3*time.Minute)),
		newNotice("first", "A", keyKey, at(time.Minute)),
		newNotice("tie-1", "A", keyKey, at(2*time.Minute)),
		newNotice("tie-2", "A", keyKey, at(2*time.Minute)),
		newNotice("tie-3", "A", keyKey, at(2*time.Minute)),
		newNotice("zeroth", "A", keyKey, at(-48*time.Hour)),
	} {
		mustRecord(t, s, n)
	}
	want := []string{"zeroth", "first", "tie-1", "tie-2", "tie-3", "third"}
	if got := noticeIDs(mustFind(t, s, iamprune.NoticeFilter{Account: "A"})); !equal(got, want) {
		t.Errorf("FindNotices = %q, want %q", got, want)
	}
}

// A failed notice is recorded too, with its error, and never passes for a
// sent one: prior notice counts only sent notices.
func testNoticeSentAndFailed(t *testing.T, s iamprune.NoticeLog) {
	fail := newNotice("email-failed", "A", keyKey, at(0))
	fail.Channel, fail.Status, fail.Error = "email", iamprune.NoticeFailed, "dial tcp: connection refused"
	ok := newNotice("slack-sent", "A", keyKey, at(0))
	retry := newNotice("email-retried", "A", keyKey, at(time.Hour))
	retry.Channel = "email"
	for _, n := range []iamprune.NoticeRecord{fail, ok, retry} {
		mustRecord(t, s, n)
	}
	got := mustFind(t, s, iamprune.NoticeFilter{Account: "A", ItemKey: keyKey, Status: iamprune.NoticeSent})
	if ids := noticeIDs(got); !equal(ids, []string{"slack-sent", "email-retried"}) {
		t.Fatalf("sent notices = %q, want slack-sent, email-retried", ids)
	}
	checkNotice(t, got[0], ok)
	got = mustFind(t, s, iamprune.NoticeFilter{Account: "A", ItemKey: keyKey, Status: iamprune.NoticeFailed})
	if len(got) != 1 {
		t.Fatalf("failed notices = %q, want email-failed", noticeIDs(got))
	}
	checkNotice(t, got[0], fail)
}

// The log is append-only: every reminder, to every channel, is kept, even
// two identical records.
func testNoticeManyForOneKey(t *testing.T, s iamprune.NoticeLog) {
	const n = 120
	var want []string
	for i := range n {
		rec := newNotice(fmt.Sprintf("n%03d", i), "A", keyKey, at(time.Duration(i/3)*24*time.Hour))
		rec.Channel = []string{"slack", "email", "sns"}[i%3]
		mustRecord(t, s, rec)
		want = append(want, rec.ActionID)
		if i == 0 {
			mustRecord(t, s, rec) // the same record twice: two records
			want = append(want, rec.ActionID)
		}
	}
	mustRecord(t, s, newNotice("other", "A", keyRole, at(time.Hour)))
	if got := noticeIDs(mustFind(t, s, iamprune.NoticeFilter{Account: "A", ItemKey: keyKey})); !equal(got, want) {
		t.Errorf("FindNotices(key) = %d records %q..., want %d", len(got), head(got), len(want))
	}
	// Since keeps the recent ones only, still in order.
	got := noticeIDs(mustFind(t, s, iamprune.NoticeFilter{Account: "A", ItemKey: keyKey, Since: at(38 * 24 * time.Hour)}))
	if !equal(got, want[len(want)-6:]) {
		t.Errorf("FindNotices(key, since day 38) = %q, want %q", got, want[len(want)-6:])
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func testNoticeInvalid(t *testing.T, s iamprune.NoticeLog) {
	ctx := context.Background()
	good := newNotice("good", "A", keyKey, at(0))
	for _, tc := range []struct {
		name   string
		change func(*iamprune.NoticeRecord)
	}{
		{"no account", func(n *iamprune.NoticeRecord) { n.Account = "" }},
		{"no item key", func(n *iamprune.NoticeRecord) { n.ItemKey = "" }},
		{"no status", func(n *iamprune.NoticeRecord) { n.Status = "" }},
		{"unknown status", func(n *iamprune.NoticeRecord) { n.Status = "delivered" }},
		{"no sent time", func(n *iamprune.NoticeRecord) { n.SentAt = time.Time{} }},
	} {
		n := good
		tc.change(&n)
		wantCode(t, "RecordNotice with "+tc.name, s.RecordNotice(ctx, n), iamprune.EINVALID)
	}
	if got := mustFind(t, s, iamprune.NoticeFilter{}); len(got) != 0 {
		t.Errorf("invalid notices were recorded: %q", noticeIDs(got))
	}
}
