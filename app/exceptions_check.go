package app

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

// CheckRequest is one check of exception files: the pull-request gate.
type CheckRequest struct {
	Files  []string
	Config iamprune.Config
	Now    time.Time
	// Against is a snapshot folder or "live" (the analyzer and IAM) to
	// report coverage in; "" reports none.
	Against string
	// Strict counts stale entries as problems, not warnings.
	Strict  bool
	LoadAWS LoadAWS
	Logger  *slog.Logger
}

// CheckExceptions validates the files, all together (duplicates and
// overlaps across files count), and with Against reports what each entry
// covers: an entry that matches no principal and no finding is stale.
func CheckExceptions(ctx context.Context, r CheckRequest) (render.CheckReport, error) {
	excs, probs, err := exceptions.CheckFiles(r.Files, exceptions.CheckOptions{
		Now:          r.Now,
		MaxDays:      r.Config.ExceptionPolicy.MaxDays,
		KnownService: catalog.IsService,
	})
	if err != nil {
		return render.CheckReport{}, err
	}
	rep := render.CheckReport{Files: r.Files, Entries: len(excs), Problems: probs, Warnings: []exceptions.Problem{}}
	if r.Against != "" {
		findings, principals, source, err := againstSource(ctx, r)
		if err != nil {
			return render.CheckReport{}, err
		}
		rep.Against = source
		for _, c := range exceptions.Coverage(excs, findings, principals, r.Now) {
			addCoverage(&rep, c, source, r.Strict)
		}
	}
	if rep.Problems == nil {
		rep.Problems = []exceptions.Problem{}
	}
	return rep, nil
}

func addCoverage(rep *render.CheckReport, c exceptions.EntryCoverage, source string, strict bool) {
	e := c.Exception
	rep.Coverage = append(rep.Coverage, render.EntryCoverage{File: e.File, Line: e.Line, Principal: e.Principal,
		FindingTypes: e.FindingTypes, Services: e.Services, Stale: c.Stale(), EntryCoverage: c})
	if !c.Stale() {
		return
	}
	p := exceptions.Problem{File: e.File, Line: e.Line, Message: "stale: matches no principal and no finding in " + source}
	if e.Path != "" {
		p.Field = e.Path + ".principal"
	}
	if strict {
		rep.Problems = append(rep.Problems, p)
	} else {
		rep.Warnings = append(rep.Warnings, p)
	}
}

// againstSource reads findings and principal ARNs from a snapshot folder
// or, for "live", from the analyzer and IAM (member accounts included),
// and names where they came from.
func againstSource(ctx context.Context, r CheckRequest) ([]iamprune.Finding, []string, string, error) {
	var (
		fs     iamprune.FindingSource
		facts  iamprune.FactSource
		source string
		log    = logger(r.Logger)
	)
	if r.Against == "live" {
		sess, err := OpenSession(ctx, r.LoadAWS, r.Config.Analyzer)
		if err != nil {
			return nil, nil, "", err
		}
		org, err := sess.OrgFacts(ctx, r.Config.CrossAccount)
		if err != nil {
			return nil, nil, "", err
		}
		fs, facts, source = sess.Findings, org, "analyzer "+r.Config.Analyzer
	} else {
		snap, err := snapshot.LoadDir(r.Against)
		if err != nil {
			return nil, nil, "", err
		}
		fs, facts, source = snap, snap, "snapshot "+r.Against
	}
	findings, warnings, err := fs.Findings(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	for _, w := range warnings {
		log.Warn(w.Message, "source", w.Source)
	}
	f, err := facts.Facts(ctx, findings)
	if err != nil {
		return nil, nil, "", err
	}
	LogUnreachable(f, log) // their principals are unknown: coverage rests on findings
	principals := make([]string, 0, len(f.Principals))
	for arn := range f.Principals {
		principals = append(principals, arn)
	}
	slices.Sort(principals)
	return findings, principals, source, nil
}

// ExpiringExceptions lists the exceptions of the files whose expiry falls
// within the window after now, and those already expired, soonest first.
// within is the window as the user wrote it.
func ExpiringExceptions(files []string, now time.Time, window time.Duration, within string) (render.ExpiringReport, error) {
	var excs []iamprune.Exception
	for _, f := range files {
		es, err := exceptions.Load(f)
		if err != nil {
			return render.ExpiringReport{}, err
		}
		excs = append(excs, es...)
	}
	rep := render.ExpiringReport{Now: now, Within: within, By: now.Add(window), Exceptions: []render.ExpiringEntry{}}
	for _, e := range exceptions.Expiring(excs, now, window) {
		rep.Exceptions = append(rep.Exceptions, render.ExpiringEntry{
			Principal: e.Principal, FindingTypes: nonNil(e.FindingTypes), Services: nonNil(e.Services),
			Owner: e.Owner, Ticket: e.Ticket, Reason: e.Reason, Expires: e.Expires.UTC().Format(time.DateOnly),
			DaysLeft: exceptions.DaysLeft(e, now), Expired: e.Expired(now), File: e.File, Line: e.Line,
		})
	}
	return rep, nil
}

// ParseWithin reads --within: a whole number of days ("30d") or a Go
// duration ("720h").
func ParseWithin(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, iamprune.Errorf(iamprune.EINVALID, "--within: %q is not a number of days (30d) or a duration (720h)", s)
}
