package storetest

import (
	"testing"

	"github.com/iamprune/iamprune"
)

// RunOnly runs the named subtests of Run, for the mutant self-check: a
// mutant needs only the subtest that must catch it.
func RunOnly(t *testing.T, open func(t *testing.T) iamprune.Store, names ...string) {
	t.Helper()
	runSuite(t, open, names)
}

// RunNoticeLogOnly runs the named subtests of RunNoticeLog.
func RunNoticeLogOnly(t *testing.T, open func(t *testing.T) NoticeStore, names ...string) {
	t.Helper()
	runNoticeSuite(t, open, names)
}

// RunSweepLogOnly runs the named subtests of RunSweepLog.
func RunSweepLogOnly(t *testing.T, open func(t *testing.T) SweepStore, names ...string) {
	t.Helper()
	runSweepSuite(t, open, names)
}
