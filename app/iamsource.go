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

// snapshotLastAccessed is last-accessed.json by ARN, nil without the file.
func snapshotLastAccessed(snap *snapshot.Snapshot) map[string]iamsource.LastAccessed {
	if snap.LastAccessed == nil {
		return nil
	}
	out := make(map[string]iamsource.LastAccessed, len(snap.LastAccessed))
	for arn, e := range snap.LastAccessed {
		out[arn] = entryLastAccessed(snap, arn, e)
	}
	return out
}

// entryLastAccessed is one principal's entry of snap: its data, or, for a
// job that did not complete, the gap with its reason.
func entryLastAccessed(snap *snapshot.Snapshot, arn string, e *snapshot.LastAccessedEntry) iamsource.LastAccessed {
	if e.JobStatus == snapshot.JobCompleted {
		return iamsource.LastAccessed{Data: snap.ServiceLastAccessed(arn)}
	}
	why := "service-last-accessed job " + e.JobStatus
	if e.Error != nil {
		why += " (" + strings.TrimSpace(e.Error.Code+" "+e.Error.Message) + ")"
	}
	return iamsource.LastAccessed{Err: why}
}
