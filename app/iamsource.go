package app

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/iamsource"
	"github.com/iamprune/iamprune/snapshot"
)

// findingSource resolves where a plan's findings come from: the command
// line's --source, else the config's source.
func findingSource(flag string, cfg iamprune.Config) (string, error) {
	src := cmp.Or(flag, cfg.FindingSource, iamprune.SourceAnalyzer)
	if !iamprune.ValidSource(src) {
		return "", iamprune.Errorf(iamprune.EINVALID, "--source: %q is neither \"analyzer\" nor \"iam\"", src)
	}
	return src, nil
}

// errIAMSourceLive is returned for --source iam without a snapshot.
func errIAMSourceLive() error {
	return iamprune.Errorf(iamprune.EINVALID, "--source iam (or config source: iam) reads IAM's last-used data from a snapshot only: "+
		"reading it from the AWS API is not available yet; use --snapshot DIR, or --source analyzer")
}

// snapshotIAMSource derives the findings of a snapshot from its IAM data
// (authorization details, access keys, credential report, last-accessed
// data) instead of its findings.json, as of now.
func snapshotIAMSource(snap *snapshot.Snapshot, now time.Time, days int) *iamsource.Source {
	return iamsource.New(func(ctx context.Context) (*iamsource.Data, error) {
		facts, err := snap.Facts(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &iamsource.Data{
			Facts: facts, Report: snap.CredentialReport, LastAccessed: snapshotLastAccessed(snap),
			Now: now, TrackingPeriodDays: days,
		}, nil
	})
}

// snapshotLastAccessed is last-accessed.json by ARN, nil without the file;
// a job that did not complete is a gap, with its reason.
func snapshotLastAccessed(snap *snapshot.Snapshot) map[string]iamsource.LastAccessed {
	if snap.LastAccessed == nil {
		return nil
	}
	out := make(map[string]iamsource.LastAccessed, len(snap.LastAccessed))
	for arn, e := range snap.LastAccessed {
		if e.JobStatus == snapshot.JobCompleted {
			out[arn] = iamsource.LastAccessed{Data: snap.ServiceLastAccessed(arn)}
			continue
		}
		why := "service-last-accessed job " + e.JobStatus
		if e.Error != nil {
			why += " (" + strings.TrimSpace(e.Error.Code+" "+e.Error.Message) + ")"
		}
		out[arn] = iamsource.LastAccessed{Err: why}
	}
	return out
}
