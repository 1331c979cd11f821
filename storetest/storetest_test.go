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

// storeMutants pairs each mutant with the subtest that must catch it.
var storeMutants = []struct{ mutant, subtest string }{
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
	{"holder-drops-pid", "LockHolder"},
	{"break-ignores-token", "BreakLock"},
	{"renew-noop", "LockRenew"},
	{"renew-revives", "LockRenew"},
	{"steps-reversed", "StepsRoundTrip"},
	{"step-unknown-ok", "StepsUnknown"},
	{"find-drops-steps", "StepsFindActions"},
	{"begin-drops-steps", "BeginActionSteps"},
	{"holds-oldest-first", "HoldsList"},
	{"holds-ignore-account", "HoldsList"},
	{"hold-unknown-nil", "HoldUnknown"},
	{"release-twice-overwrites", "HoldRelease"},
}

// Each mutant breaks one promise of the Store contract; the suite must
// catch every one of them, in the subtest that covers that promise.
func TestSuiteCatchesMutants(t *testing.T) {
	checkMutantsCaught(t, "TestMutant", storeMutants)
}

// checkMutantsCaught runs the test named test in a child process, where it
// fails for every mutant it catches, and then checks, mutant by mutant,
// that its subtest failed. A failing subtest must fail the parent test,
// hence the child process; one child runs every mutant, in parallel.
func checkMutantsCaught(t *testing.T, test string, mutants []struct{ mutant, subtest string }) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a mutant run")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), mutantEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s passed: no mutant was caught:\n%s", test, out)
	}
	for _, tc := range mutants {
		if !strings.Contains(string(out), "--- FAIL: "+test+"/"+tc.mutant+"/"+tc.subtest+" ") {
			t.Errorf("mutant %s not caught by %s:\n%s", tc.mutant, tc.subtest, mutantOutput(string(out), test+"/"+tc.mutant+"/"))
		}
	}
}

// mutantOutput is the lines of out about the subtests under prefix.
func mutantOutput(out, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, prefix) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestMutant runs, for each mutant, the subtest that must catch it. It
// runs only in the child process of TestSuiteCatchesMutants.
func TestMutant(t *testing.T) {
	if os.Getenv(mutantEnv) == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	for _, tc := range storeMutants {
		t.Run(tc.mutant, func(t *testing.T) {
			t.Parallel()
			storetest.RunOnly(t, func(t *testing.T) iamprune.Store { return mutant{openSQLite(t), tc.mutant} }, tc.subtest)
		})
	}
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
	case "begin-drops-steps":
		rec.Steps = nil
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
	case "steps-reversed":
		for i := range recs {
			slices.Reverse(recs[i].Steps)
		}
	}
	return recs, err
}

func (m mutant) FindActions(ctx context.Context, f iamprune.ActionFilter) ([]iamprune.ActionRecord, error) {
	if m.name == "find-ignores-status" {
		f.Status = ""
	}
	recs, err := m.Store.FindActions(ctx, f)
	switch m.name {
	case "find-newest-first":
		slices.Reverse(recs)
	case "find-drops-steps":
		for i := range recs {
			recs[i].Steps = nil
		}
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
	switch {
	case err == nil && m.name == "release-noop":
		return noRelease{}, nil
	case err == nil && (m.name == "renew-noop" || m.name == "renew-revives"):
		return badRenew{l, m, account, owner}, nil
	}
	return l, err
}

// badRenew renews nothing, or takes the lock anew when it was lost.
type badRenew struct {
	iamprune.Lock
	m       mutant
	account string
	owner   iamprune.LockOwner
}

func (b badRenew) Renew(ctx context.Context, ttl time.Duration) error {
	if b.m.name == "renew-noop" {
		return nil
	}
	if err := b.Lock.Renew(ctx, ttl); err != nil {
		info, herr := b.m.Store.LockHolder(ctx, b.account)
		if herr == nil && info != nil {
			b.m.Store.BreakLock(ctx, b.account, info.Token)
		}
		_, err = b.m.Store.Lock(ctx, b.account, b.owner, ttl)
		return err
	}
	return nil
}

func (m mutant) LockHolder(ctx context.Context, account string) (*iamprune.LockInfo, error) {
	info, err := m.Store.LockHolder(ctx, account)
	if info != nil && m.name == "holder-drops-pid" {
		info.Owner.PID = 0
	}
	return info, err
}

func (m mutant) BreakLock(ctx context.Context, account, token string) (bool, error) {
	if m.name == "break-ignores-token" {
		if info, err := m.Store.LockHolder(ctx, account); err == nil && info != nil {
			token = info.Token
		}
	}
	return m.Store.BreakLock(ctx, account, token)
}

func (m mutant) RecordStep(ctx context.Context, runID, actionID string, st iamprune.Step) error {
	err := m.Store.RecordStep(ctx, runID, actionID, st)
	if m.name == "step-unknown-ok" && iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil
	}
	return err
}

func (m mutant) Holds(ctx context.Context, account string) ([]iamprune.Hold, error) {
	if m.name == "holds-ignore-account" {
		account = ""
	}
	hs, err := m.Store.Holds(ctx, account)
	if m.name == "holds-oldest-first" {
		slices.Reverse(hs)
	}
	return hs, err
}

func (m mutant) Hold(ctx context.Context, id string) (*iamprune.Hold, error) {
	h, err := m.Store.Hold(ctx, id)
	if m.name == "hold-unknown-nil" && iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
		return nil, nil
	}
	return h, err
}

func (m mutant) ReleaseHold(ctx context.Context, id, by string, at time.Time) error {
	if m.name == "release-twice-overwrites" {
		if h, err := m.Store.Hold(ctx, id); err == nil {
			h.ReleasedAt, h.ReleasedBy = nil, ""
			m.Store.PutHold(ctx, *h)
		}
	}
	return m.Store.ReleaseHold(ctx, id, by, at)
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

// noticeMutants pairs each notice-log mutant with the subtest that must
// catch it.
var noticeMutants = []struct{ mutant, subtest string }{
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
}

// Each mutant breaks one promise of the NoticeLog contract.
func TestNoticeSuiteCatchesMutants(t *testing.T) {
	checkMutantsCaught(t, "TestNoticeMutant", noticeMutants)
}

// TestNoticeMutant runs, for each notice-log mutant, the subtest that must
// catch it, in the child process of TestNoticeSuiteCatchesMutants.
func TestNoticeMutant(t *testing.T) {
	if os.Getenv(mutantEnv) == "" {
		t.Skip("run by TestNoticeSuiteCatchesMutants")
	}
	for _, tc := range noticeMutants {
		t.Run(tc.mutant, func(t *testing.T) {
			t.Parallel()
			storetest.RunNoticeLogOnly(t, func(t *testing.T) storetest.NoticeStore { return noticeMutant{openNoticeLog(t), tc.mutant} }, tc.subtest)
		})
	}
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

func TestSweepSuite(t *testing.T) {
	storetest.RunSweepLog(t, func(t *testing.T) storetest.SweepStore { return sweepMutant{openNoticeLog(t), ""} })
}

// sweepMutants pairs each sweep-log mutant with the subtest that must
// catch it.
var sweepMutants = []struct{ mutant, subtest string }{
	{"sweep-drops-run-id", "SweepRoundTrip"},
	{"sweep-parts-unordered", "SweepRoundTrip"},
	{"sweep-counts-redelivery", "SweepLastOnce"},
	{"sweep-last-every-time", "SweepLastOnce"},
	{"sweep-start-overwrites", "SweepErrors"},
}

// Each mutant breaks one promise of the SweepLog contract.
func TestSweepSuiteCatchesMutants(t *testing.T) {
	checkMutantsCaught(t, "TestSweepMutant", sweepMutants)
}

// TestSweepMutant runs, for each sweep-log mutant, the subtest that must
// catch it, in the child process of TestSweepSuiteCatchesMutants.
func TestSweepMutant(t *testing.T) {
	if os.Getenv(mutantEnv) == "" {
		t.Skip("run by TestSweepSuiteCatchesMutants")
	}
	for _, tc := range sweepMutants {
		t.Run(tc.mutant, func(t *testing.T) {
			t.Parallel()
			storetest.RunSweepLogOnly(t, func(t *testing.T) storetest.SweepStore { return sweepMutant{openNoticeLog(t), tc.mutant} }, tc.subtest)
		})
	}
}

// sweepMutant wraps a correct sweep log and, when name says so, breaks it.
type sweepMutant struct {
	*sqlite.Store
	name string
}

func (m sweepMutant) StartSweep(ctx context.Context, sw iamprune.Sweep, parts []iamprune.SweepPart) error {
	if m.name == "sweep-start-overwrites" {
		if _, _, err := m.Store.Sweep(ctx, sw.ID); err == nil {
			return nil
		}
	}
	return m.Store.StartSweep(ctx, sw, parts)
}

func (m sweepMutant) FinishSweepPart(ctx context.Context, p iamprune.SweepPart, at time.Time) (*iamprune.Sweep, bool, error) {
	if m.name == "sweep-drops-run-id" {
		p.RunID = ""
	}
	sw, last, err := m.Store.FinishSweepPart(ctx, p, at)
	switch {
	case err != nil:
	case m.name == "sweep-counts-redelivery" && !last:
		sw.Done++
	case m.name == "sweep-last-every-time" && p.Status == iamprune.SweepDone:
		last = true
	}
	return sw, last, err
}

func (m sweepMutant) Sweep(ctx context.Context, id string) (*iamprune.Sweep, []iamprune.SweepPart, error) {
	sw, parts, err := m.Store.Sweep(ctx, id)
	if m.name == "sweep-parts-unordered" {
		slices.Reverse(parts)
	}
	return sw, parts, err
}
