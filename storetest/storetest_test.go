package storetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/sqlite"
	"github.com/iamprune/iamprune/storetest"
)

const mutantEnv = "STORETEST_MUTANT"

func openSQLite(t *testing.T) iamprune.Store {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The suite passes on a correct store, wrapped or not: the wrapper itself
// changes nothing unless a mutant is named.
func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) iamprune.Store { return mutant{openSQLite(t), ""} })
}

// Each mutant breaks one promise of the Store contract; the suite must
// catch every one of them, in the subtest that covers that promise.
func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a mutant run")
	}
	for _, tc := range []struct{ mutant, subtest string }{
		{"run-unknown-nil", "RunUnknown"},
		{"create-run-overwrites", "CreateRunTwice"},
		{"runs-oldest-first", "Runs"},
		{"runs-ignore-limit", "Runs"},
		{"times-to-seconds", "RunRoundTrip"},
		{"times-local", "RunRoundTrip"},
		{"finish-run-unknown-ok", "FinishRun"},
		{"nil-services", "BeginAction"},
		{"begin-twice-ok", "BeginActionTwice"},
		{"begin-unknown-run-ok", "BeginActionUnknownRun"},
		{"finish-twice-ok", "FinishActionRefused"},
		{"finish-drops-post", "FinishAction"},
		{"actions-by-time", "ActionsWriteOrder"},
		{"find-newest-first", "FindActions"},
		{"find-ignores-status", "FindActions"},
		{"images-compacted", "ImagesByteExact"},
		{"images-truncated", "ImagesByteExact"},
		{"lock-never-conflicts", "LockHeld"},
		{"release-noop", "LockHeld"},
		{"no-stale-takeover", "LockStale"},
	} {
		t.Run(tc.mutant, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+tc.mutant)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with mutant %s", tc.mutant)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/"+tc.subtest+" ") {
				t.Errorf("mutant %s not caught by %s:\n%s", tc.mutant, tc.subtest, out)
			}
		})
	}
}

// TestMutant runs the suite on the mutant named in the environment.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	storetest.Run(t, func(t *testing.T) iamprune.Store { return mutant{openSQLite(t), name} })
}

// mutant wraps a correct store and, when name says so, breaks it.
type mutant struct {
	iamprune.Store
	name string
}

func (m mutant) Run(ctx context.Context, id string) (*iamprune.Run, error) {
	r, err := m.Store.Run(ctx, id)
	if m.name == "run-unknown-nil" && iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, nil
	}
	if r != nil && m.name == "times-local" {
		r.StartedAt = r.StartedAt.In(time.FixedZone("X", 3600))
	}
	return r, err
}

func (m mutant) CreateRun(ctx context.Context, r iamprune.Run) error {
	if m.name == "times-to-seconds" {
		r.StartedAt = r.StartedAt.Truncate(time.Second)
	}
	err := m.Store.CreateRun(ctx, r)
	if m.name == "create-run-overwrites" && iamprune.ErrorCode(err) == iamprune.ECONFLICT {
		return nil
	}
	return err
}

func (m mutant) Runs(ctx context.Context, account string, limit int) ([]iamprune.Run, error) {
	if m.name == "runs-ignore-limit" {
		limit = 0
	}
	runs, err := m.Store.Runs(ctx, account, limit)
	if m.name == "runs-oldest-first" {
		slices.Reverse(runs)
	}
	return runs, err
}

func (m mutant) FinishRun(ctx context.Context, id, status, detail string, at time.Time) error {
	err := m.Store.FinishRun(ctx, id, status, detail, at)
	if m.name == "finish-run-unknown-ok" && iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil
	}
	return err
}

func (m mutant) BeginAction(ctx context.Context, rec iamprune.ActionRecord) error {
	switch m.name {
	case "images-compacted":
		var b bytes.Buffer
		if json.Compact(&b, rec.PreImage) == nil {
			rec.PreImage = b.Bytes()
		}
	}
	err := m.Store.BeginAction(ctx, rec)
	if m.name == "begin-twice-ok" && iamprune.ErrorCode(err) == iamprune.ECONFLICT ||
		m.name == "begin-unknown-run-ok" && iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil
	}
	return err
}

func (m mutant) FinishAction(ctx context.Context, runID, actionID, status, detail string, post json.RawMessage, at time.Time) error {
	if m.name == "finish-drops-post" {
		post = nil
	}
	err := m.Store.FinishAction(ctx, runID, actionID, status, detail, post, at)
	if m.name == "finish-twice-ok" && iamprune.ErrorCode(err) == iamprune.ECONFLICT {
		return nil
	}
	return err
}

func (m mutant) Actions(ctx context.Context, runID string) ([]iamprune.ActionRecord, error) {
	recs, err := m.Store.Actions(ctx, runID)
	switch m.name {
	case "nil-services":
		for i := range recs {
			if len(recs[i].Services) == 0 {
				recs[i].Services = nil
			}
		}
	case "images-truncated": // as a store with an item size limit would
		for i := range recs {
			if len(recs[i].PreImage) > 256<<10 {
				recs[i].PreImage = recs[i].PreImage[:256<<10]
			}
		}
	case "actions-by-time":
		slices.SortStableFunc(recs, func(a, b iamprune.ActionRecord) int { return a.StartedAt.Compare(b.StartedAt) })
	}
	return recs, err
}

func (m mutant) FindActions(ctx context.Context, f iamprune.ActionFilter) ([]iamprune.ActionRecord, error) {
	if m.name == "find-ignores-status" {
		f.Status = ""
	}
	recs, err := m.Store.FindActions(ctx, f)
	if m.name == "find-newest-first" {
		slices.Reverse(recs)
	}
	return recs, err
}

func (m mutant) Lock(ctx context.Context, account string, owner iamprune.LockOwner, ttl time.Duration) (iamprune.Lock, error) {
	switch m.name {
	case "lock-never-conflicts":
		account += "/" + owner.String()
	case "no-stale-takeover":
		ttl *= 1000
	}
	l, err := m.Store.Lock(ctx, account, owner, ttl)
	if err == nil && m.name == "release-noop" {
		return noRelease{}, nil
	}
	return l, err
}

type noRelease struct{}

func (noRelease) Release(context.Context) error { return nil }

func (noRelease) Renew(context.Context, time.Duration) error { return nil }

func openNoticeLog(t *testing.T) *sqlite.Store {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNoticeSuite(t *testing.T) {
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return noticeMutant{openNoticeLog(t), ""} })
}

// Each mutant breaks one promise of the NoticeLog contract.
func TestNoticeSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a mutant run")
	}
	for _, tc := range []struct{ mutant, subtest string }{
		{"notice-drops-error", "NoticeRoundTrip"},
		{"notice-times-local", "NoticeRoundTrip"},
		{"notice-times-to-seconds", "NoticeRoundTrip"},
		{"notice-ignores-item-key", "NoticeFilters"},
		{"notice-ignores-since", "NoticeFilters"},
		{"notice-since-exclusive", "NoticeFilters"},
		{"notice-ignores-status", "NoticeSentAndFailed"},
		{"notice-newest-first", "NoticeOrder"},
		{"notice-ties-reversed", "NoticeOrder"},
		{"notice-dedups", "NoticeManyForOneKey"},
		{"notice-accepts-invalid", "NoticeInvalid"},
	} {
		t.Run(tc.mutant, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestNoticeMutant$", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+tc.mutant)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a notice log with mutant %s", tc.mutant)
			}
			if !strings.Contains(string(out), "--- FAIL: TestNoticeMutant/"+tc.subtest+" ") {
				t.Errorf("mutant %s not caught by %s:\n%s", tc.mutant, tc.subtest, out)
			}
		})
	}
}

// TestNoticeMutant runs the notice-log suite on the mutant named in the
// environment.
func TestNoticeMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestNoticeSuiteCatchesMutants")
	}
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return noticeMutant{openNoticeLog(t), name} })
}

// noticeMutant wraps a correct notice log and, when name says so, breaks it.
type noticeMutant struct {
	*sqlite.Store
	name string
}

func (m noticeMutant) RecordNotice(ctx context.Context, n iamprune.NoticeRecord) error {
	switch m.name {
	case "notice-drops-error":
		n.Error = ""
	case "notice-times-to-seconds":
		n.SentAt = n.SentAt.Truncate(time.Second)
	case "notice-dedups":
		same, err := m.Store.FindNotices(ctx, iamprune.NoticeFilter{Account: n.Account, ItemKey: n.ItemKey})
		u := n
		u.SentAt = u.SentAt.UTC()
		if err == nil && slices.ContainsFunc(same, func(o iamprune.NoticeRecord) bool { o.SentAt = o.SentAt.UTC(); return o == u }) {
			return nil
		}
	case "notice-accepts-invalid":
		if n.Account == "" || n.ItemKey == "" || n.SentAt.IsZero() || n.Status != iamprune.NoticeSent && n.Status != iamprune.NoticeFailed {
			return nil
		}
	}
	return m.Store.RecordNotice(ctx, n)
}

func (m noticeMutant) FindNotices(ctx context.Context, f iamprune.NoticeFilter) ([]iamprune.NoticeRecord, error) {
	switch m.name {
	case "notice-ignores-item-key":
		f.ItemKey = ""
	case "notice-ignores-since":
		f.Since = time.Time{}
	case "notice-since-exclusive":
		if !f.Since.IsZero() {
			f.Since = f.Since.Add(time.Nanosecond)
		}
	case "notice-ignores-status":
		f.Status = ""
	}
	recs, err := m.Store.FindNotices(ctx, f)
	switch m.name {
	case "notice-times-local":
		for i := range recs {
			recs[i].SentAt = recs[i].SentAt.In(time.FixedZone("X", 3600))
		}
	case "notice-newest-first":
		slices.Reverse(recs)
	case "notice-ties-reversed":
		slices.Reverse(recs)
		slices.SortStableFunc(recs, func(a, b iamprune.NoticeRecord) int { return a.SentAt.Compare(b.SentAt) })
	}
	return recs, err
}
