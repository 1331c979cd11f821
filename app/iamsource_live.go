package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/iamsource"
	"github.com/iamprune/iamprune/snapshot"
)

// liveIAMSource derives the findings of the account of the credentials
// from IAM's API as of now: principals with RoleLastUsed, the credential
// report, the keys of users that have some, and one service-last-accessed
// job per principal whose permissions are judged, reused from store (when
// it is an iamprune.UsageCache) while under iamprune.LastAccessedCacheTTL
// old. Member accounts are not read: without an analyzer nothing names them.
func liveIAMSource(sess *Session, store iamprune.Store, now time.Time, days int, poll time.Duration, log *slog.Logger) *iamsource.Source {
	return iamsource.New(func(ctx context.Context) (*iamsource.Data, error) {
		facts, report, err := sess.Facts.IAMData(ctx)
		if err != nil {
			return nil, err
		}
		d := &iamsource.Data{Facts: facts, Report: report, Now: now, TrackingPeriodDays: days}
		cache, _ := store.(iamprune.UsageCache)
		jobs := &lastAccessedJobs{cp: awsapi.NewCapturer(sess.AWS), cache: cache, account: facts.Account, now: now, log: logger(log)}
		if poll > 0 {
			jobs.cp.Poll = poll
		}
		d.LastAccessed, err = jobs.read(ctx, iamsource.NeedsLastAccessed(d))
		return d, err
	})
}

// lastAccessedJobs reads the service-last-accessed results of one account,
// through its cache when there is one.
type lastAccessedJobs struct {
	cp      *awsapi.Capturer
	cache   iamprune.UsageCache
	account string
	now     time.Time
	log     *slog.Logger
}

// read returns the result of every principal in arns: cached when fresh,
// else from a new job. A job that fails is that principal's gap; a cache
// that cannot be read or written is warned about and bypassed.
func (j *lastAccessedJobs) read(ctx context.Context, arns []string) (map[string]iamsource.LastAccessed, error) {
	out := make(map[string]iamsource.LastAccessed, len(arns))
	var run []string
	for _, arn := range arns {
		if d := j.cached(ctx, arn); d != nil {
			out[arn] = iamsource.LastAccessed{Data: d}
			continue
		}
		run = append(run, arn)
	}
	results, err := j.cp.LastAccessedJobs(ctx, run)
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		la := jobLastAccessed(r)
		out[r.ARN] = la
		if la.Data != nil && j.cache != nil {
			if err := j.cache.CacheLastAccessed(ctx, j.account, la.Data, j.now); err != nil {
				j.log.Warn("cannot cache service-last-accessed data", "principal", r.ARN, "error", err)
			}
		}
	}
	j.log.Debug("service-last-accessed data", "account", j.account, "cached", len(arns)-len(run), "jobs", len(run))
	return out, nil
}

// cached returns the stored result for arn when it is younger than the TTL.
func (j *lastAccessedJobs) cached(ctx context.Context, arn string) *iamprune.ServiceLastAccessed {
	if j.cache == nil {
		return nil
	}
	d, at, ok, err := j.cache.CachedLastAccessed(ctx, j.account, arn)
	if err != nil {
		j.log.Warn("cannot read cached service-last-accessed data", "principal", arn, "error", err)
		return nil
	}
	if !ok || j.now.Sub(at) >= iamprune.LastAccessedCacheTTL || at.After(j.now) {
		return nil
	}
	return d
}

// jobLastAccessed converts a job's output the way a snapshot's
// last-accessed.json entry is read, so that both give the same findings.
func jobLastAccessed(r awsapi.LastAccessedJob) iamsource.LastAccessed {
	if r.Err != nil {
		return iamsource.LastAccessed{Err: r.Err.Error()}
	}
	var e snapshot.LastAccessedEntry
	if err := viaJSON(r.Output, &e); err != nil {
		return iamsource.LastAccessed{Err: err.Error()}
	}
	e.Arn = r.ARN
	snap := &snapshot.Snapshot{LastAccessed: map[string]*snapshot.LastAccessedEntry{r.ARN: &e}}
	return entryLastAccessed(snap, r.ARN, &e)
}
