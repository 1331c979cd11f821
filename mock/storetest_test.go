package mock_test

import (
	"testing"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/mock"
	"github.com/iamprune/iamprune/storetest"
)

// mock.Store keeps the same contract as the SQLite store, so that tests of
// apply against it say something about production.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) iamprune.Store { return &mock.Store{} })
}

func TestNoticeLogConformance(t *testing.T) {
	storetest.RunNoticeLog(t, func(t *testing.T) storetest.NoticeStore { return &mock.Store{} })
}

func TestUsageCacheConformance(t *testing.T) {
	storetest.RunUsageCache(t, func(t *testing.T) storetest.UsageStore { return &mock.Store{} })
}

func TestSweepLogConformance(t *testing.T) {
	storetest.RunSweepLog(t, func(t *testing.T) storetest.SweepStore { return &mock.Store{} })
}
