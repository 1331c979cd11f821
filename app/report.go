package app

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/notify"
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
		Expiring: expiringEntries(p.Inputs.Exceptions, p.Inputs.Now, ReportExpiringWithin), Owners: owners(p)}
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

// owners maps the plan's principals to their owners, by the owner tags
// the notifications read; without facts, none is known.
func owners(p *Planned) map[string]string {
	out := map[string]string{}
	for _, a := range p.Plan.Actions {
		if o := notify.OwnerOf(p.Facts.Principal(a.Principal), p.Inputs.Config.Notifications.OwnerTags); o != "" {
			out[a.Principal] = o
		}
	}
	return out
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

// ReportRequest is what 'iamprune report' needs.
type ReportRequest struct {
	// OpenStore opens the state store; a nil store (none yet) or an error
	// leaves the history out of the report, with the reason.
	OpenStore func(context.Context) (iamprune.Store, error)
	// MakePlan plans with the store (nil when none could be opened).
	MakePlan func(context.Context, iamprune.Store) (*Planned, error)
	// Out is the file to write; Publish the s3:// prefix to upload to.
	// At least one is needed.
	Out, Publish string
	// Objects writes S3 objects, for Publish.
	Objects func(context.Context) (*awsapi.S3Object, error)
	Logger  *slog.Logger
}

// Report plans as 'plan' does, renders the HTML report with the state
// store's history, and writes it to Out and publishes it to Publish. It
// returns where it wrote it. A publish target that is not s3:// is
// EINVALID, before anything is read.
func Report(ctx context.Context, r ReportRequest) ([]string, error) {
	if r.Out == "" && r.Publish == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "report: give --out FILE, --publish s3://bucket/prefix/, or both")
	}
	if r.Publish != "" {
		if _, _, err := ParsePublishURL(r.Publish); err != nil {
			return nil, err
		}
	}
	log := logger(r.Logger)
	store, err := r.OpenStore(ctx)
	why := ""
	switch {
	case err != nil:
		why, store = "the state store could not be opened: "+err.Error(), nil
		log.Warn("report: planning without the state store", "reason", err.Error())
	case store == nil:
		why = "there is no state store yet (nothing was applied with it)"
	default:
		defer store.Close()
	}
	p, err := r.MakePlan(ctx, store)
	if err != nil {
		return nil, err
	}
	html, err := RenderReport(ctx, p, store, why, log)
	if err != nil {
		return nil, err
	}
	var out []string
	if r.Out != "" {
		if err := os.WriteFile(r.Out, html, 0o644); err != nil { // #nosec G306: a report is made to be shared
			return nil, fmt.Errorf("report: %w", err)
		}
		out = append(out, r.Out)
	}
	if r.Publish != "" {
		objects, err := r.Objects(ctx)
		if err != nil {
			return out, err
		}
		urls, err := PublishReport(ctx, objects, r.Publish, html, p.Inputs.Now)
		out = append(out, urls...)
		if err != nil {
			return out, err
		}
	}
	// As plan: the report is written, but accounts it could not read are
	// a problem to look at (exit 1).
	if p.Facts != nil && len(p.Facts.Unreachable) > 0 {
		return out, fmt.Errorf("%d member account(s) unreachable; their findings were skipped (see the report)", len(p.Facts.Unreachable))
	}
	return out, nil
}

// PublishSweepReport publishes the report of a sweep's plan, with the
// history its run just added, to the config's report.publish, when set. A
// failure is logged, never fatal: the sweep's changes are made and
// journaled either way.
func (h *Handler) PublishSweepReport(ctx context.Context, inv *Invocation, p *Planned) {
	url := inv.Inputs.Config.Report.Publish
	if url == "" || p == nil {
		return
	}
	log := h.Env.log()
	html, err := RenderReport(ctx, p, inv.Store, "", log)
	if err == nil {
		var urls []string
		urls, err = PublishReport(ctx, awsapi.NewS3Object(inv.AWS), url, html, p.Inputs.Now)
		if err == nil {
			log.Info("report published", "urls", urls)
			return
		}
	}
	log.Error("report: cannot publish the sweep's report", "target", url, "error", err)
}
