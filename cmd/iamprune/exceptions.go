package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/catalog"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/exceptions"
	"github.com/iamprune/iamprune/snapshot"
)

func (m *Main) exceptionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exceptions",
		Short: "Check, list and sync the approved-exceptions files",
		Long: `Exceptions live in git: one ARN per line (*.txt, the reference allowlist.txt)
or YAML with reason, owner and expiry (see docs/exceptions.md). Asking for one
is a pull request, 'exceptions check' is its gate, and after the merge
'exceptions sync' publishes the list and reconciles the analyzer's archive
rules. 'exceptions expiring' lists what is about to stop applying.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"iamprune exceptions\" (want check, expiring or sync)", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(m.exceptionsCheckCommand(), m.exceptionsExpiringCommand(), m.exceptionsSyncCommand())
	return cmd
}

type exceptionsCheckOptions struct {
	configPath string
	against    string
	now        string
	strict     bool
	output     string
}

func (m *Main) exceptionsCheckCommand() *cobra.Command {
	var o exceptionsCheckOptions
	cmd := &cobra.Command{
		Use:   "check [FILE...]",
		Short: "Validate exception files: the pull-request gate",
		Long: `check validates exception files, *.txt and YAML, and reports every problem
of every file as FILE:LINE: FIELD: MESSAGE:

  - malformed principal ARNs; the account must be 12 digits or exactly *;
  - over-broad patterns: the resource type must be literally user/ or role/,
    and the name after it needs at least 3 literal (non-wildcard)
    characters, so *, arn:aws:iam::*:*, role/* and *:role/* are refused while
    arn:aws:iam::*:role/BreakGlass* passes;
  - unknown finding types and service namespaces;
  - duplicate entries, and entries whose patterns cover one another with a
    finding type (and, for UnusedPermission, a service) in common, across
    all the files given;
  - YAML only: missing reason or owner, and an expires date that is missing,
    in the past, or more than exceptions.max_days (default 365) ahead. A .txt
    line cannot carry these; use YAML to record them.

With no FILE, the exceptions file of --config is checked. With
GITHUB_ACTIONS=true each problem is also printed as an ::error annotation, so
that it shows on the pull request's diff.

--against reads the findings and principals of a snapshot folder, or of the
live analyzer and IAM ("live"), and prints what each entry covers. An entry
that matches no principal and no finding is stale: a warning, or a problem
with --strict.

Exit codes: 0 no problems, 1 problems found, 2 bad usage or a file that
cannot be read.`,
		Example: `  iamprune exceptions check exceptions.yaml allowlist.txt
  iamprune exceptions check --config iamprune.yaml
  iamprune exceptions check exceptions.yaml --against examples/demo/snapshot --strict
  iamprune exceptions check exceptions.yaml --now 2026-11-28 -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runExceptionsCheck(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "YAML config: exceptions.max_days, and the exceptions file when no FILE is given (default: $IAMPRUNE_CONFIG)")
	f.StringVar(&o.against, "against", "", `also report what each entry covers, and stale entries, in this snapshot folder or "live" (the analyzer and IAM)`)
	f.StringVar(&o.now, "now", "", "judge expiry as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.BoolVar(&o.strict, "strict", false, "with --against, count stale entries as problems (exit 1)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

// checkReport is the JSON output of exceptions check.
type checkReport struct {
	Files    []string             `json:"files"`
	Entries  int                  `json:"entries"`
	Problems []exceptions.Problem `json:"problems"`
	Warnings []exceptions.Problem `json:"warnings"`
	Against  string               `json:"against,omitempty"`
	Coverage []entryCoverage      `json:"coverage,omitempty"`
}

// entryCoverage is exceptions.EntryCoverage with the entry it is about.
type entryCoverage struct {
	File         string                 `json:"file"`
	Line         int                    `json:"line"`
	Principal    string                 `json:"principal"`
	FindingTypes []iamprune.FindingType `json:"finding_types,omitempty"`
	Services     []string               `json:"services,omitempty"`
	Stale        bool                   `json:"stale"`
	exceptions.EntryCoverage
}

func (m *Main) runExceptionsCheck(ctx context.Context, o exceptionsCheckOptions, files []string) error {
	if o.output != "text" && o.output != "json" {
		return usagef("--output: %q is not text or json", o.output)
	}
	if o.strict && o.against == "" {
		return usagef("--strict needs --against: stale entries are only known against findings")
	}
	now, err := parseNow(o.now, m.Now)
	if err != nil {
		return err
	}
	cfg, cfgExceptions, err := m.exceptionsConfig(ctx, o.configPath)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		if cfgExceptions == "" {
			return usagef("no exception files: give FILE arguments, or --config with exceptions set")
		}
		files = []string{cfgExceptions}
	}
	excs, probs, err := exceptions.CheckFiles(files, exceptions.CheckOptions{
		Now:          now,
		MaxDays:      cfg.ExceptionPolicy.MaxDays,
		KnownService: catalog.IsService,
	})
	if err != nil {
		return err
	}
	rep := checkReport{Files: files, Entries: len(excs), Problems: probs, Warnings: []exceptions.Problem{}}
	if o.against != "" {
		findings, principals, source, err := m.againstSource(ctx, o.against, cfg)
		if err != nil {
			return err
		}
		rep.Against = source
		for _, c := range exceptions.Coverage(excs, findings, principals, now) {
			e := c.Exception
			rep.Coverage = append(rep.Coverage, entryCoverage{File: e.File, Line: e.Line, Principal: e.Principal,
				FindingTypes: e.FindingTypes, Services: e.Services, Stale: c.Stale(), EntryCoverage: c})
			if !c.Stale() {
				continue
			}
			p := exceptions.Problem{File: e.File, Line: e.Line, Message: "stale: matches no principal and no finding in " + source}
			if e.Path != "" {
				p.Field = e.Path + ".principal"
			}
			if o.strict {
				rep.Problems = append(rep.Problems, p)
			} else {
				rep.Warnings = append(rep.Warnings, p)
			}
		}
	}
	if rep.Problems == nil {
		rep.Problems = []exceptions.Problem{}
	}
	github := m.Getenv("GITHUB_ACTIONS") == "true"
	if o.output == "json" {
		if err := writeExceptionsJSON(m.Stdout, rep); err != nil {
			return err
		}
		// Keep stdout valid JSON; the runner reads annotations on stderr too.
		if github {
			writeAnnotations(m.Stderr, rep)
		}
	} else {
		writeCheckText(m.Stdout, rep)
		if github {
			writeAnnotations(m.Stdout, rep)
		}
		fmt.Fprintln(m.Stdout, checkSummary(rep))
	}
	if len(rep.Problems) > 0 {
		return errProblems
	}
	return nil
}

// exceptionsConfig reads the config named by flag (else $IAMPRUNE_CONFIG,
// else the defaults) and returns it with its exceptions path made relative
// to the config file, as plan does. An s3:// path is not returned: these
// commands read local files.
func (m *Main) exceptionsConfig(ctx context.Context, flag string) (iamprune.Config, string, error) {
	cfg, path, err := app.LoadConfig(ctx, app.InputOptions{ConfigPath: flag, Getenv: m.Getenv, Objects: m.s3Objects, ConfigureAWS: m.configureAWS})
	if err != nil || strings.Contains(cfg.Exceptions, "://") {
		return cfg, "", err
	}
	return cfg, config.Resolve(path, cfg.Exceptions), nil
}

// againstSource reads findings and principal ARNs from a snapshot folder or,
// for "live", from the analyzer and IAM, and names where they came from.
func (m *Main) againstSource(ctx context.Context, against string, cfg iamprune.Config) ([]iamprune.Finding, []string, string, error) {
	var (
		fs     iamprune.FindingSource
		facts  iamprune.FactSource
		source string
	)
	if against == "live" {
		sess, err := m.awsSession(ctx, cfg.Analyzer)
		if err != nil {
			return nil, nil, "", err
		}
		// The member accounts of an organisation analyzer's findings too.
		org, err := sess.OrgFacts(ctx, cfg.CrossAccount)
		if err != nil {
			return nil, nil, "", err
		}
		fs, facts, source = sess.Findings, org, "analyzer "+cfg.Analyzer
	} else {
		snap, err := snapshot.LoadDir(against)
		if err != nil {
			return nil, nil, "", err
		}
		fs, facts, source = snap, snap, "snapshot "+against
	}
	findings, warnings, err := fs.Findings(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	for _, w := range warnings {
		m.log().Warn(w.Message, "source", w.Source)
	}
	f, err := facts.Facts(ctx, findings)
	if err != nil {
		return nil, nil, "", err
	}
	app.LogUnreachable(f, m.log()) // their principals are unknown: coverage rests on findings
	principals := make([]string, 0, len(f.Principals))
	for arn := range f.Principals {
		principals = append(principals, arn)
	}
	slices.Sort(principals)
	return findings, principals, source, nil
}

func writeCheckText(w io.Writer, rep checkReport) {
	if rep.Against != "" {
		fmt.Fprintf(w, "coverage in %s:\n", rep.Against)
		for _, c := range rep.Coverage {
			fmt.Fprintf(w, "%s:%d  %s%s\n", c.File, c.Line, c.Principal, coverageScope(c.FindingTypes, c.Services, c.Expired))
			for _, p := range c.Principals {
				fmt.Fprintf(w, "  principal  %s\n", p)
			}
			for _, f := range c.Findings {
				svcs := ""
				if len(f.Services) > 0 {
					svcs = "  services: " + strings.Join(f.Services, ", ")
				}
				fmt.Fprintf(w, "  finding    %s  %s  %s  %s%s\n", f.ID, f.Type, f.Status, f.Resource, svcs)
			}
			if c.Stale {
				fmt.Fprintln(w, "  (stale: nothing matches)")
			}
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, p.String())
	}
	for _, p := range rep.Warnings {
		p.Message = "warning: " + p.Message
		fmt.Fprintln(w, p.String())
	}
}

// scope describes an entry's limits for the coverage listing.
func coverageScope(types []iamprune.FindingType, services []string, expired bool) string {
	var parts []string
	if len(types) > 0 {
		ts := make([]string, len(types))
		for i, t := range types {
			ts[i] = string(t)
		}
		parts = append(parts, strings.Join(ts, ", "))
	}
	if len(services) > 0 {
		parts = append(parts, "services "+strings.Join(services, ", "))
	}
	if expired {
		parts = append(parts, "EXPIRED")
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

func writeAnnotations(w io.Writer, rep checkReport) {
	for _, p := range rep.Problems {
		fmt.Fprintln(w, p.GitHub())
	}
	for _, p := range rep.Warnings {
		fmt.Fprintln(w, p.GitHubWarning())
	}
}

func checkSummary(rep checkReport) string {
	var warn string
	if n := len(rep.Warnings); n > 0 {
		warn = ", " + countOf(n, "warning")
	}
	if len(rep.Problems) == 0 {
		return fmt.Sprintf("ok: %s in %s%s", countOf(rep.Entries, "entry"), countOf(len(rep.Files), "file"), warn)
	}
	var files []string
	for _, p := range rep.Problems {
		if !slices.Contains(files, p.File) {
			files = append(files, p.File)
		}
	}
	return fmt.Sprintf("%s in %s%s", countOf(len(rep.Problems), "problem"), countOf(len(files), "file"), warn)
}

func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func writeExceptionsJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type exceptionsExpiringOptions struct {
	configPath string
	files      []string
	within     string
	now        string
	output     string
}

func (m *Main) exceptionsExpiringCommand() *cobra.Command {
	var o exceptionsExpiringOptions
	cmd := &cobra.Command{
		Use:   "expiring",
		Short: "List exceptions that expire soon or already expired",
		Long: `expiring lists the exceptions whose expiry falls within --within of now,
and those already expired, soonest first: principal, finding types,
services, owner, ticket, expiry date, days left and FILE:LINE.

An exception applies through the whole of its expiry day (UTC); days left is
0 on that day and negative once it expired. An expired exception no longer
applies in plan and apply. Only YAML entries expire; .txt lines never do.

The file is --exceptions (repeatable), else the config's exceptions.`,
		Example: `  iamprune exceptions expiring --exceptions exceptions.yaml --within 30d
  iamprune exceptions expiring --config iamprune.yaml --within 720h -o json
  iamprune exceptions expiring --exceptions exceptions.yaml --now 2026-11-28`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.runExceptionsExpiring(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "YAML config whose exceptions file is listed (default: $IAMPRUNE_CONFIG)")
	f.StringArrayVar(&o.files, "exceptions", nil, "exceptions file, *.txt or YAML; repeatable; overrides the config's exceptions")
	f.StringVar(&o.within, "within", "30d", "window ahead of now: days (30d) or a Go duration (720h)")
	f.StringVar(&o.now, "now", "", "as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	return cmd
}

// expiringEntry is one row of exceptions expiring -o json.
type expiringEntry struct {
	Principal    string                 `json:"principal"`
	FindingTypes []iamprune.FindingType `json:"finding_types"`
	Services     []string               `json:"services"`
	Owner        string                 `json:"owner"`
	Ticket       string                 `json:"ticket"`
	Reason       string                 `json:"reason"`
	Expires      string                 `json:"expires"`
	DaysLeft     int                    `json:"days_left"`
	Expired      bool                   `json:"expired"`
	File         string                 `json:"file"`
	Line         int                    `json:"line"`
}

type expiringReport struct {
	Now        time.Time       `json:"now"`
	Within     string          `json:"within"`
	Exceptions []expiringEntry `json:"exceptions"`
}

func (m *Main) runExceptionsExpiring(ctx context.Context, o exceptionsExpiringOptions) error {
	if o.output != "table" && o.output != "json" {
		return usagef("--output: %q is not table or json", o.output)
	}
	within, err := parseWithin(o.within)
	if err != nil {
		return err
	}
	now, err := parseNow(o.now, m.Now)
	if err != nil {
		return err
	}
	files := o.files
	if len(files) == 0 {
		_, cfgExceptions, err := m.exceptionsConfig(ctx, o.configPath)
		if err != nil {
			return err
		}
		if cfgExceptions == "" {
			return usagef("no exceptions file: give --exceptions FILE, or --config with exceptions set")
		}
		files = []string{cfgExceptions}
	}
	var excs []iamprune.Exception
	for _, f := range files {
		es, err := exceptions.Load(f)
		if err != nil {
			return err
		}
		excs = append(excs, es...)
	}
	rep := expiringReport{Now: now, Within: o.within, Exceptions: []expiringEntry{}}
	for _, e := range exceptions.Expiring(excs, now, within) {
		rep.Exceptions = append(rep.Exceptions, expiringEntry{
			Principal: e.Principal, FindingTypes: nonNil(e.FindingTypes), Services: nonNil(e.Services),
			Owner: e.Owner, Ticket: e.Ticket, Reason: e.Reason, Expires: e.Expires.UTC().Format(time.DateOnly),
			DaysLeft: exceptions.DaysLeft(e, now), Expired: e.Expired(now), File: e.File, Line: e.Line,
		})
	}
	if o.output == "json" {
		return writeExceptionsJSON(m.Stdout, rep)
	}
	if len(rep.Exceptions) == 0 {
		_, err := fmt.Fprintf(m.Stdout, "no exception expires within %s (by %s)\n", o.within, now.Add(within).UTC().Format(time.DateOnly))
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tFINDING TYPES\tSERVICES\tOWNER\tTICKET\tEXPIRES\tDAYS LEFT\tFILE")
	for _, e := range rep.Exceptions {
		types := "all"
		if len(e.FindingTypes) > 0 {
			ts := make([]string, len(e.FindingTypes))
			for i, t := range e.FindingTypes {
				ts[i] = string(t)
			}
			types = strings.Join(ts, ",")
		}
		left := strconv.Itoa(e.DaysLeft)
		switch {
		case e.Expired:
			left = fmt.Sprintf("expired %dd ago", -e.DaysLeft)
		case e.DaysLeft == 0:
			left = "0 (last day)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%d\n", e.Principal, types, orDash(strings.Join(e.Services, ",")),
			orDash(e.Owner), orDash(e.Ticket), e.Expires, left, e.File, e.Line)
	}
	return tw.Flush()
}

// parseWithin reads --within: a whole number of days ("30d") or a Go
// duration ("720h").
func parseWithin(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, usagef("--within: %q is not a number of days (30d) or a duration (720h)", s)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
