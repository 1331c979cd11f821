package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
)

//go:embed report.html.tmpl
var pageSource string

//go:embed report.css
var pageCSS string

//go:embed report.js
var pageJS string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"css":   func() template.CSS { return template.CSS(pageCSS) }, // #nosec G203: our own file
	"js":    func() template.JS { return template.JS(pageJS) },    // #nosec G203: our own file
	"join":  strings.Join,
	"date":  func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"dash":  dashIfEmpty,
	"short": shortARN,
}).Parse(pageSource))

// Palette of the plan's groups, shared by the charts and the tiles.
var (
	colRemediate = series{"to remediate", "#c0392b"}
	colNotify    = series{"to notify", "#e67e22"}
	colPropose   = series{"to propose", "#8e44ad"}
	colExempt    = series{"exempt", "#2980b9"}
	colHeld      = series{"held", "#16a085"}
	colProtected = series{"protected", "#7f8c8d"}
	colSkip      = series{"skip", "#bdc3c7"}
	colDone      = series{"already done", "#e6b0aa"}
)

// view is what the template shows.
type view struct {
	Title       string
	Generated   string
	Now         string
	Source      string
	Totals      Counts
	Accounts    []Counts
	Charts      []Chart
	History     []Chart
	HistoryNote string
	Runs        []iamprune.Run
	Entries     []entry
	Kinds       []string
	Expiring    []render.ExpiringEntry
	Within      string
	Holds       []iamprune.Hold
	Plan        *iamprune.Plan
	Warnings    []iamprune.Warning
}

// entry is one plan entry as the table shows it.
type entry struct {
	iamprune.Action
	Group    string
	Owner    string
	Services string
	Diffs    []string
}

// Render writes the report of in as one self-contained HTML page.
func Render(w io.Writer, in Input) error {
	if in.Plan == nil {
		return iamprune.Errorf(iamprune.EINVALID, "report: no plan")
	}
	v := build(in)
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func build(in Input) *view {
	p := in.Plan
	v := &view{
		Title:     "iamprune report",
		Generated: p.GeneratedAt.UTC().Format(time.RFC3339),
		Now:       in.Now.UTC().Format(time.DateOnly),
		Source:    p.Source,
		Totals:    Totals(p),
		Accounts:  ByAccount(p),
		Expiring:  in.Expiring,
		Within:    in.ExpiringWithin,
		Holds:     activeHolds(in.Holds, in.Now),
		Plan:      p,
		Warnings:  p.Warnings,
	}
	if p.Account != "" {
		v.Title += " — account " + p.Account
	}
	kinds := map[string]bool{}
	for _, a := range p.Actions {
		e := entry{Action: a, Group: group(a), Owner: in.Owners[a.Principal], Services: strings.Join(a.Services, ", ")}
		for _, c := range a.Policies {
			e.Diffs = append(e.Diffs, render.PolicyDiff(c))
		}
		v.Entries = append(v.Entries, e)
		if !kinds[string(a.Kind)] {
			kinds[string(a.Kind)] = true
			v.Kinds = append(v.Kinds, string(a.Kind))
		}
	}
	v.Charts = planCharts(in)
	if in.History == nil {
		v.HistoryNote = "History unavailable: " + dashIfEmpty(in.HistoryNote)
	} else {
		v.History = historyCharts(in)
		v.Runs = in.History.Runs
	}
	return v
}

// planCharts are the charts of the plan itself.
func planCharts(in Input) []Chart {
	p := in.Plan
	single := func(bars []bar, s series) []column {
		cols := make([]column, len(bars))
		for i, b := range bars {
			cols[i] = column{b.Label, []int{b.Value}}
		}
		return cols
	}
	entries := series{"entries", "#34495e"}
	kinds := byKind(p)
	types := byType(p)
	hist := unusedHistogram(p)
	days, beyond := calendar(p, in.Now)
	owners := byOwner(p, in.Owners)
	groups := []series{colRemediate, colNotify, colPropose, colDone, colHeld, colExempt, colProtected, colSkip}
	var accts []column
	for _, c := range ByAccount(p) {
		accts = append(accts, column{c.Account, []int{c.Remediate, c.Notify, c.Propose, c.Done, c.Held, c.Exempt, c.Protected, c.Skip}})
	}
	return []Chart{
		rowsChart("chart-kind", "Plan entries by kind", fmt.Sprintf("%d plan entries in %d kinds.", len(p.Actions), len(kinds)), "Kind", []series{entries}, single(kinds, entries)),
		rowsChart("chart-type", "Plan entries by finding type", fmt.Sprintf("%d plan entries in %d finding types.", len(p.Actions), len(types)), "Finding type", []series{entries}, single(types, entries)),
		columnsChart("chart-unused", "Open items by unused days", "Items to notify, remediate or propose, by how many days they have been unused.", "Unused days", []series{{"items", "#c0392b"}}, single(hist, series{"items", "#c0392b"})),
		calendarChart(days, beyond),
		rowsChart("chart-owners", "Open items per owner", fmt.Sprintf("Items to remediate, notify or propose, by the owner tag of their principal (%d owner(s) shown).", len(owners)),
			"Owner", []series{colRemediate, colNotify, colPropose}, owners),
		rowsChart("chart-accounts", "Plan entries per account", fmt.Sprintf("%d account(s), each bar split by what the plan does.", len(accts)), "Account", groups, accts),
	}
}

// historyCharts are the charts of the state store's record.
func historyCharts(in Input) []Chart {
	weeks := weekly(in.History, in.Now)
	var wc []column
	for _, w := range weeks {
		wc = append(wc, column{w.Start.Format("2006-01-02"), []int{w.Applied, w.RolledBack, w.Failed}})
	}
	applied, rolled, failed := series{"applied", "#c0392b"}, series{"rolled back", "#16a085"}, series{"failed", "#2c3e50"}
	weeklyChart := columnsChart("chart-weekly", "Changes per week", "Changes applied, rolled back and failed per week (weeks start on Monday, UTC), from the journal.", "Week of", []series{applied, rolled, failed}, wc)

	var rc []column
	points, unrecorded := perRun(in.History)
	for i, p := range points {
		label := fmt.Sprintf("#%d %s", i+1, p.Run.StartedAt.UTC().Format("01-02"))
		rc = append(rc, column{label, []int{p.Remediate, p.Notify, p.Propose}})
	}
	t := Totals(in.Plan)
	rc = append(rc, column{"now", []int{t.Remediate, t.Notify, t.Propose}})
	runChart := columnsChart("chart-runs", "Open unused items per run",
		"The unused items open (to remediate, notify or propose) in the plan of each apply run, as the run recorded it (#1 is the oldest, with its day), and in this plan (now).",
		"Apply run", []series{colRemediate, colNotify, colPropose}, rc)
	if unrecorded > 0 {
		runChart.Note = fmt.Sprintf("%d earlier apply run(s) were recorded before iamprune kept each plan's counts, and are not shown.", unrecorded)
	}
	return []Chart{weeklyChart, runChart}
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// shortARN leaves out an IAM ARN's partition, service and account (the
// table has an account column): "role/path/Name".
func shortARN(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		return parts[5]
	}
	return arn
}
