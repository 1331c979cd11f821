package app

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/report"
)

// ReportExpiringWithin is how far ahead the report lists expiring
// exceptions.
const ReportExpiringWithin = 30 * 24 * time.Hour

// ReportInput gathers what the HTML report shows: the plan, the exceptions
// that expire within 30 days, and from the state store the runs, their
// journal and the holds. A store that is nil or cannot be read leaves the
// history out with the reason (why says why there is no store); the plan
// part is always there.
func ReportInput(ctx context.Context, p *Planned, store iamprune.Store, why string, log *slog.Logger) report.Input {
	in := report.Input{Plan: p.Plan, Now: p.Inputs.Now, ExpiringWithin: "30 days",
		Expiring: expiringEntries(p.Inputs.Exceptions, p.Inputs.Now, ReportExpiringWithin)}
	if store == nil {
		in.HistoryNote = cmp.Or(why, "no state store was given or found")
		logger(log).Warn("report: history unavailable", "reason", in.HistoryNote)
		return in
	}
	h, holds, err := readHistory(ctx, store)
	if err != nil {
		in.HistoryNote = "the state store could not be read: " + err.Error()
		logger(log).Warn("report: history unavailable", "reason", in.HistoryNote)
		return in
	}
	in.History, in.Holds = h, holds
	return in
}

// readHistory reads every run, the whole journal and the holds.
func readHistory(ctx context.Context, store iamprune.Store) (*report.History, []iamprune.Hold, error) {
	runs, err := store.Runs(ctx, "", 0)
	if err != nil {
		return nil, nil, err
	}
	recs, err := store.FindActions(ctx, iamprune.ActionFilter{})
	if err != nil {
		return nil, nil, err
	}
	holds, err := store.Holds(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	return &report.History{Runs: runs, Records: recs}, holds, nil
}

// RenderReport renders the report of p to HTML.
func RenderReport(ctx context.Context, p *Planned, store iamprune.Store, why string, log *slog.Logger) ([]byte, error) {
	var b bytes.Buffer
	if err := report.Render(&b, ReportInput(ctx, p, store, why, log)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ParsePublishURL checks a report's publish target, s3://bucket/prefix/
// (the prefix may be empty), and returns the bucket and the key prefix,
// ending in "/" unless empty. Anything else is EINVALID.
func ParsePublishURL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if ok {
		bucket, prefix, _ = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || strings.ContainsAny(bucket, " \t\n") {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "report: publish target %q is not an S3 prefix (s3://bucket/prefix/)", u)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// PublishReport uploads an HTML report to the s3:// prefix url as
// PREFIX/report.html and, dated by day (UTC), PREFIX/YYYY-MM-DD/report.html,
// with Content-Type text/html. It returns the URLs written.
func PublishReport(ctx context.Context, objects *awsapi.S3Object, url string, html []byte, day time.Time) ([]string, error) {
	bucket, prefix, err := ParsePublishURL(url)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, key := range []string{prefix + "report.html", prefix + day.UTC().Format(time.DateOnly) + "/report.html"} {
		if _, err := objects.Put(ctx, bucket, key, html, "text/html; charset=utf-8"); err != nil {
			return out, fmt.Errorf("report: %w", err)
		}
		out = append(out, "s3://"+bucket+"/"+key)
	}
	return out, nil
}
