package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/decide"
	"github.com/iamprune/iamprune/notify"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/snapshot"
)

// Planned is a plan with the live sources it was made from, which apply
// reuses so that no call is repeated.
type Planned struct {
	Plan   *iamprune.Plan
	Inputs Inputs
	// Session is nil in snapshot mode.
	Session *Session
	// Facts are the facts the plan was made with; nil for a saved plan
	// until its notices need them.
	Facts  *iamprune.Facts
	Caller string
	// Snapshot is set when the plan was made from a snapshot folder.
	Snapshot bool
	// due are the notices the plan calls for, once selected, so that
	// consent and sending use one read of the notice log.
	due *[]notify.Delivery
}

// PlanOptions says where a plan's findings and facts come from.
type PlanOptions struct {
	// Snapshot is a snapshot folder to read instead of AWS.
	Snapshot string
	// Analyzer is the analyzer ARN or "auto"; "" uses the config's.
	Analyzer string
	// Source is "analyzer" or "iam" (findings from IAM's own data); ""
	// uses the config's.
	Source string
	// Store is the state store (journal, holds, notice log); nil plans as
	// if nothing was done yet.
	Store iamprune.Store
	// LoadAWS loads the AWS configuration when reading AWS.
	LoadAWS LoadAWS
	// Progress, when set, is called once the session is open and returns
	// the function that ends the progress display.
	Progress func(*Session) (done func())
	// Poll is the first wait between polls of service-last-accessed jobs
	// (source iam); 0 means awsapi's default.
	Poll   time.Duration
	Logger *slog.Logger
}

// MakePlan reads the findings and facts (from a snapshot or AWS, across
// accounts), the journal, the holds and the notice log, and decides.
// Nothing is changed.
func MakePlan(ctx context.Context, in Inputs, o PlanOptions) (*Planned, error) {
	log := logger(o.Logger)
	if o.Snapshot != "" && o.Analyzer != "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "--snapshot and --analyzer cannot be used together")
	}
	source, err := findingSource(o.Source, in.Config)
	if err != nil {
		return nil, err
	}
	if o.Snapshot != "" {
		snap, err := snapshot.OpenDir(o.Snapshot)
		if err != nil {
			return nil, err
		}
		var (
			plan  *iamprune.Plan
			facts *iamprune.Facts
		)
		if source == iamprune.SourceIAM {
			plan, facts, err = Decide(ctx, snapshotIAMSource(snap, in.Now, in.Config.TrackingPeriodDays), snap, in, o.Store, "IAM data of snapshot "+o.Snapshot, log)
		} else {
			release := boundMemory(o.Snapshot)
			plan, facts, err = decideStream(ctx, snap, snap, in, o.Store, "snapshot "+o.Snapshot, log)
			release()
		}
		if err != nil {
			return nil, err
		}
		WarnNoChannels(in.Config, plan, log)
		return &Planned{Plan: plan, Inputs: in, Facts: facts, Caller: facts.Caller, Snapshot: true}, nil
	}
	if source == iamprune.SourceIAM {
		return planLiveIAM(ctx, in, o, log)
	}
	analyzer := o.Analyzer
	if analyzer == "" {
		analyzer = in.Config.Analyzer
	}
	sess, err := OpenSession(ctx, o.LoadAWS, analyzer)
	if err != nil {
		return nil, err
	}
	if fallback, err := noAnalyzerFallback(ctx, sess, o.Source, analyzer, log); err != nil {
		return nil, err
	} else if fallback {
		return planLiveIAMWith(ctx, sess, in, o, log)
	}
	if o.Progress != nil {
		defer o.Progress(sess)()
	}
	org, err := sess.OrgFacts(ctx, in.Config)
	if err != nil {
		return nil, err
	}
	// Roles and passwords need no GetFindingV2 where IAM gives their last use.
	sess.Findings.UseIAM(org)
	plan, facts, err := DecideAnalyzer(ctx, sess.Findings, org, in, o.Store, "analyzer "+analyzer, log)
	if err != nil {
		return nil, err
	}
	LogUnreachable(facts, log)
	if in.Config.Recommendations {
		compareRecommendations(ctx, sess, plan, log)
	}
	log.Debug("AWS calls", "total", sess.Counter.Total(), "by_operation", sess.Counter.ByOperation(),
		"credential_report_fallbacks", org.Fallbacks())
	WarnNoChannels(in.Config, plan, log)
	return &Planned{Plan: plan, Inputs: in, Session: sess, Facts: facts, Caller: facts.Caller}, nil
}

// noAnalyzerFallback reports whether the plan falls back to IAM's own data:
// the analyzer is the default source, but when it is discovered (auto)
// and the region has none, the run says so and plans from IAM's data. An
// explicit --source analyzer (or --analyzer ARN) requires the analyzer.
func noAnalyzerFallback(ctx context.Context, sess *Session, flag, analyzer string, log *slog.Logger) (bool, error) {
	if flag != "" || analyzer != iamprune.AnalyzerAuto {
		return false, nil
	}
	_, err := sess.Findings.AnalyzerARN(ctx)
	var none *awsapi.NoAnalyzerError
	if !errors.As(err, &none) {
		return false, err
	}
	log.Warn("no active unused-access analyzer in " + none.Region + ": planning from IAM's own data instead (source: iam; docs/without-analyzer.md); pass --source analyzer to require the analyzer")
	return true, nil
}

// planLiveIAM plans the account of the credentials from IAM's own data.
func planLiveIAM(ctx context.Context, in Inputs, o PlanOptions, log *slog.Logger) (*Planned, error) {
	sess, err := OpenSession(ctx, o.LoadAWS, cmp.Or(o.Analyzer, in.Config.Analyzer))
	if err != nil {
		return nil, err
	}
	return planLiveIAMWith(ctx, sess, in, o, log)
}

// planLiveIAMWith plans from IAM's own data through an open session.
func planLiveIAMWith(ctx context.Context, sess *Session, in Inputs, o PlanOptions, log *slog.Logger) (*Planned, error) {
	if o.Progress != nil {
		defer o.Progress(sess)()
	}
	src := liveIAMSource(sess, o.Store, in.Now, in.Config.TrackingPeriodDays, o.Poll, log)
	plan, facts, err := Decide(ctx, src, sess.Facts, in, o.Store, "IAM data of account", log)
	if err != nil {
		return nil, err
	}
	plan.Source += " " + facts.Account
	log.Debug("AWS calls", "total", sess.Counter.Total(), "by_operation", sess.Counter.ByOperation())
	WarnNoChannels(in.Config, plan, log)
	return &Planned{Plan: plan, Inputs: in, Session: sess, Facts: facts, Caller: facts.Caller}, nil
}

// Decide reads findings and facts from the sources, what the state store
// says was already done (journal, holds, notices sent), and runs the
// engine. source names where the findings came from, for the plan. It
// holds every finding at once: an analyzer's are planned with
// DecideAnalyzer, a snapshot's with decideStream.
func Decide(ctx context.Context, fs iamprune.FindingSource, facts iamprune.FactSource, in Inputs, store iamprune.Store, source string, log *slog.Logger) (*iamprune.Plan, *iamprune.Facts, error) {
	findings, warnings, err := fs.Findings(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		logger(log).Warn(w.Message, "source", w.Source)
	}
	f, err := facts.Facts(ctx, findings)
	if err != nil {
		return nil, nil, err
	}
	accounts := findingAccounts(f.Account, findings)
	done, deactivated, err := journalState(ctx, store, accounts...)
	if err != nil {
		return nil, nil, err
	}
	notices, err := sentNotices(ctx, store, f.Account)
	if err != nil {
		return nil, nil, err
	}
	holds, err := storedHolds(ctx, store, accounts...)
	if err != nil {
		return nil, nil, err
	}
	plan := decide.Plan(decide.Input{
		Findings:    findings,
		Facts:       f,
		Config:      in.Config,
		Exceptions:  in.Exceptions,
		Now:         in.Now,
		Warnings:    append(warnings, in.Warnings...),
		Source:      source,
		Done:        done,
		Deactivated: deactivated,
		Notices:     notices,
		Holds:       holds,
	})
	plan.Config = in.ConfigPath
	return &plan, f, nil
}

// journalState reads what iamprune already changed in accounts and did not
// roll back; a missing store means nothing.
func journalState(ctx context.Context, store iamprune.Store, accounts ...string) (done, deactivated map[string]iamprune.DoneRef, err error) {
	if store == nil {
		return nil, nil, nil
	}
	done, deactivated = map[string]iamprune.DoneRef{}, map[string]iamprune.DoneRef{}
	for _, account := range accounts {
		made, err := iamprune.Changes(ctx, store, account)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(done, made.Actions)
		maps.Copy(deactivated, made.Deactivated)
	}
	return done, deactivated, nil
}

// storedHolds reads the holds rollbacks set in accounts; a missing store
// means none. decide applies only those still in force.
func storedHolds(ctx context.Context, store iamprune.Store, accounts ...string) ([]iamprune.Hold, error) {
	if store == nil {
		return nil, nil
	}
	var out []iamprune.Hold
	for _, account := range accounts {
		hs, err := store.Holds(ctx, account)
		if err != nil {
			return nil, fmt.Errorf("cannot read the holds of account %s: %w", account, err)
		}
		out = append(out, hs...)
	}
	return out, nil
}

// findingAccounts returns home and the other accounts findings name, sorted:
// the accounts whose journals a plan reads.
func findingAccounts(home string, findings []iamprune.Finding) []string {
	out := []string{home}
	for _, f := range findings {
		if f.Account != "" && !slices.Contains(out, f.Account) {
			out = append(out, f.Account)
		}
	}
	slices.Sort(out)
	return out
}

// sentNotices reads the notices successfully sent in account: the proof of
// prior notice that remediation requires by default.
func sentNotices(ctx context.Context, store iamprune.Store, account string) ([]iamprune.NoticeRecord, error) {
	log, ok := store.(iamprune.NoticeLog)
	if store == nil || !ok {
		return nil, nil
	}
	return log.FindNotices(ctx, iamprune.NoticeFilter{Account: account, Status: iamprune.NoticeSent})
}

// LogUnreachable warns about every member account whose facts could not be
// read: its findings are planned as skips with the reason.
func LogUnreachable(f *iamprune.Facts, log *slog.Logger) {
	accts := make([]string, 0, len(f.Unreachable))
	for a := range f.Unreachable {
		accts = append(accts, a)
	}
	sort.Strings(accts)
	for _, a := range accts {
		logger(log).Warn("member account unreachable; its findings are skipped", "account", a, "reason", f.Unreachable[a])
	}
}

// WarnNoChannels says why nothing will be remediated on an install that
// requires prior notice but cannot give it.
func WarnNoChannels(cfg iamprune.Config, plan *iamprune.Plan, log *slog.Logger) {
	if !cfg.Notifications.RequirePriorNotice || len(cfg.Notifications.Channels) > 0 {
		return
	}
	for _, a := range plan.Actions {
		if a.Kind == iamprune.KindNotify && strings.Contains(a.Reason, "prior notice") {
			logger(log).Warn("notifications.require_prior_notice is on but no notification channel is configured: owners cannot be notified, so nothing will be remediated; configure notifications.channels, or set require_prior_notice: false")
			return
		}
	}
}

// TerminalProgress is a PlanOptions.Progress that shows the findings read
// on w when it is a terminal (tty).
func TerminalProgress(w io.Writer, tty bool) func(*Session) func() {
	return func(s *Session) func() {
		p := &render.Progress{W: w, TTY: tty, Calls: s.Counter.Total}
		s.Findings.OnProgress = p.Findings
		return p.Done
	}
}
