package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/apply"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/sqlite"
)

// story notifies, applies a week later, shows the changes, re-applies
// and rolls back.
func story(ctx context.Context, o Options, d *demoEnv, res *demoResult) error {
	demoPlanned(o, d, res)
	store, err := sqlite.Open(d.stateDB)
	if err != nil {
		return err
	}
	defer store.Close()
	st := &demoState{store: store}
	st.auditL = audit.New(&st.auditLog, o.Env.Now)
	if err := demoNotify(ctx, o, d, res, st); err != nil {
		return err
	}
	if err := demoApply(ctx, o, d, st); err != nil {
		return err
	}
	if err := demoReapply(ctx, o, d, st); err != nil {
		return err
	}
	if err := demoRollback(ctx, o, d, st); err != nil {
		return err
	}
	if err := demoHeld(ctx, o, d, st); err != nil {
		return err
	}
	if err := demoReport(ctx, o, d, st); err != nil {
		return err
	}
	demoTryIt(o.Out)
	return nil
}

// demoReport writes the HTML report of the last plan, with the history
// of the story's state store, when asked to.
func demoReport(ctx context.Context, o Options, d *demoEnv, st *demoState) error {
	if o.Report == "" {
		return nil
	}
	html, err := app.RenderReport(ctx, &app.Planned{Plan: st.held.plan, Inputs: d.in, Facts: st.held.facts}, st.store, "", o.Env.Logger)
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.Report, html, 0o644); err != nil { // #nosec G306: a report is made to be shared
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(o.Out, "\nThe HTML report of this plan and of the story's history: %s\n", o.Report)
	return nil
}

// demoState is what the story's steps share: the state store and the
// audit log.
type demoState struct {
	store    iamprune.Store
	auditLog bytes.Buffer
	auditL   *audit.Logger
	// before is the account before apply; applied is the run, now its plan.
	before  []byte
	applied *iamprune.RunResult
	now     *demoResult
	// held is the last plan, after the rollback.
	held *demoResult
}

// demoPlanned tells what the first plan found.
func demoPlanned(o Options, d *demoEnv, res *demoResult) {
	w := o.Out
	c := res.plan.Counts()
	fmt.Fprintf(w, "\n== 1. plan (%s)\n", d.in.Now.Format(time.DateOnly))
	fmt.Fprintf(w, "iamprune started its AWS emulator on a loopback port, served the demo account\n")
	fmt.Fprintf(w, "from %s/snapshot, and read it through the real AWS SDK clients:\n", Root)
	fmt.Fprintf(w, "%d API calls, %d repeated. Nothing is remediated yet: no owner was warned, and\n", res.calls, res.duplicates)
	fmt.Fprintf(w, "notifications.require_prior_notice holds every remediation until its owner was\n")
	fmt.Fprintf(w, "notified %d days before. %d item(s) to notify, %d exempt, %d protected, %d skipped.\n",
		d.in.Config.Notifications.NoticeDays, c[iamprune.KindNotify], c[iamprune.KindExempt], c[iamprune.KindProtected], c[iamprune.KindSkip])
}

// demoNotify sends the digests the first plan calls for.
func demoNotify(ctx context.Context, o Options, d *demoEnv, res *demoResult, st *demoState) error {
	w := o.Out
	fmt.Fprintf(w, "\n== 2. notify --yes: one digest per route, to SNS\n")
	nt, err := app.NewNotifier(ctx, o.Env, d.in, &d.sess.AWS, st.store, st.auditL)
	if err != nil {
		return err
	}
	facts, err := d.sess.Facts.Facts(ctx, nil)
	if err != nil {
		return err
	}
	ds, err := nt.Pending(ctx, res.plan, facts)
	if err != nil {
		return err
	}
	sent := nt.Send(ctx, ds, res.account, "demo-notify")
	fmt.Fprintln(w, render.NoticeSummary(sent))
	var first *emulator.PublishedMessage
	for _, ch := range d.in.Config.Notifications.Channels {
		for _, pm := range d.srv.Published(ch.TopicARN) {
			fmt.Fprintf(w, "  %-9s %s\n", ch.Name+":", pm.Subject)
			if first == nil {
				first = &pm
			}
		}
	}
	if first != nil {
		fmt.Fprintf(w, "\nThe first of them reads:\n\n%s\n", indent(excerpt(first.Message, 28)))
	}
	return nil
}

// demoApply plans and applies a week later, and shows the account.
func demoApply(ctx context.Context, o Options, d *demoEnv, st *demoState) error {
	w := o.Out
	// A week later, the owners were warned long enough.
	later := d.in
	later.Now = d.in.Now.AddDate(0, 0, d.in.Config.Notifications.NoticeDays)
	d.in = later
	fmt.Fprintf(w, "\n== 3. a week later (%s): plan and apply --yes\n", later.Now.Format(time.DateOnly))
	now, err := d.plan(ctx, o, st.store)
	if err != nil {
		return err
	}
	st.before, err = d.srv.Dump()
	if err != nil {
		return err
	}
	applied, err := d.apply(ctx, o, st, now)
	st.applied, st.now = applied, now
	if err != nil {
		return err
	}
	if err := render.Run(w, applied, "table", "applied"); err != nil {
		return err
	}
	fmt.Fprintln(w, render.NoticeSummary(applied.Notifications), "(what changed, and the rollback command for each change)")

	fmt.Fprintf(w, "\n== 4. the account now, read back through the IAM API\n")
	for _, c := range awsapi.DescribeChanges(ctx, d.sess.AWS, applied) {
		fmt.Fprintf(w, "  %-16s %s\n", c.Name+":", c.State)
	}
	return nil
}

// demoReapply plans and applies again: everything is already done.
func demoReapply(ctx context.Context, o Options, d *demoEnv, st *demoState) error {
	w := o.Out
	fmt.Fprintf(w, "\n== 5. plan and apply again\n")
	writes := len(d.srv.Writes())
	again, err := d.plan(ctx, o, st.store)
	if err != nil {
		return err
	}
	reapplied, err := d.apply(ctx, o, st, again)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range reapplied.Results {
		if a.Status == iamprune.ResultAlreadyDone {
			n++
		}
	}
	iamWrites := 0
	for _, c := range d.srv.Writes()[writes:] {
		if c.Service == "iam" {
			iamWrites++
		}
	}
	fmt.Fprintf(w, "The new plan shows the changes as done: %d of %d already done, %d IAM write calls.\n", n, len(reapplied.Results), iamWrites)
	return nil
}

// apply applies a plan of the story, as 'apply --yes' does.
func (d *demoEnv) apply(ctx context.Context, o Options, st *demoState, r *demoResult) (*iamprune.RunResult, error) {
	p := &app.Planned{Plan: r.plan, Inputs: d.in, Session: d.sess, Caller: r.caller}
	res, err := app.Apply(ctx, o.Env, app.ApplyRequest{Planned: p, Store: st.store, MaxActions: -1, Audit: &st.auditLog, Owner: o.Owner})
	if err != nil {
		return nil, err
	}
	return res.Run, nil
}

// demoRollback rolls the run back and shows what differs from before.
func demoRollback(ctx context.Context, o Options, d *demoEnv, st *demoState) error {
	w, applied, now, before := o.Out, st.applied, st.now, st.before
	fmt.Fprintf(w, "\n== 6. rollback %s --yes\n", applied.RunID)
	p := &app.Planned{Inputs: d.in, Session: d.sess, Caller: now.caller}
	rbOpts := app.RunOptions(o.Env, p, st.store, now.account, &st.auditLog, o.Owner)
	rbOpts.Audit = st.auditL
	rbOpts.HoldDays = d.in.Config.Holds.Days
	// Holds run on the story's clock, like its plans.
	rbOpts.Now = func() time.Time { return d.in.Now }
	rolled, err := apply.Rollback(ctx, applied.RunID, nil, rbOpts)
	if err != nil {
		return err
	}
	if err := render.Run(w, rolled, "table", "rolled back"); err != nil {
		return err
	}
	after, err := d.srv.Dump()
	if err != nil {
		return err
	}
	diff, err := emulator.DumpDiff(before, after)
	if err != nil {
		return err
	}
	var iamDiff []string
	for _, e := range diff {
		if !strings.HasPrefix(e, "Topics/") && !strings.HasPrefix(e, "Published/") {
			iamDiff = append(iamDiff, e)
		}
	}
	fmt.Fprintf(w, "\nCompared with before apply, the account's IAM differs only in: %s\n", strings.Join(iamDiff, ", "))
	fmt.Fprintf(w, "(a deleted console password cannot come back as it was: rollback recreates the\n")
	fmt.Fprintf(w, "login profile with a one-time password that must be changed at first sign-in).\n")
	return nil
}

// demoHeld plans again: the rolled-back items are held.
func demoHeld(ctx context.Context, o Options, d *demoEnv, st *demoState) error {
	w := o.Out
	fmt.Fprintf(w, "\n== 7. plan again: a rollback sticks\n")
	held, err := d.plan(ctx, o, st.store)
	if err != nil {
		return err
	}
	st.held = held
	n, until := 0, ""
	for _, a := range held.plan.Actions {
		if a.Hold != "" {
			n++
			until = a.HoldUntil
		}
	}
	fmt.Fprintf(w, "%d rolled-back item(s) are planned exempt, held until %s (holds.days: %d), so the\n", n, until, d.in.Config.Holds.Days)
	fmt.Fprintf(w, "next sweep does not redo what was undone. 'iamprune holds' lists them and\n")
	fmt.Fprintf(w, "'iamprune holds release ID' ends one early; an exception makes one permanent.\n")
	fmt.Fprintf(w, "%d audit events were written as JSON lines (in real runs to iamprune-audit.jsonl beside the state store, or --audit-log).\n", bytes.Count(st.auditLog.Bytes(), []byte("\n")))
	return nil
}

// demoTryIt shows the commands that replay the story.
func demoTryIt(w io.Writer) {
	fmt.Fprintf(w, "\nTry it yourself:\n")
	fmt.Fprintf(w, "  iamprune emulator --snapshot %s/snapshot --listen 127.0.0.1:4566 --topic iamprune-payments --topic iamprune-data --topic iamprune-security &\n", Root)
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x\n")
	fmt.Fprintf(w, "  iamprune notify --config %s/iamprune.yaml --now 2026-11-28 --state demo.db --yes\n", Root)
	fmt.Fprintf(w, "  iamprune plan --config %s/iamprune.yaml --now 2026-12-05 --state demo.db --out plan.json\n", Root)
	fmt.Fprintf(w, "  iamprune apply plan.json --config %s/iamprune.yaml --state demo.db\n", Root)
	fmt.Fprintf(w, "  iamprune report --config %s/iamprune.yaml --now 2026-12-05 --state demo.db --out report.html\n", Root)
	fmt.Fprintf(w, "Least privilege instead of a Deny (docs/least-privilege.md):\n")
	fmt.Fprintf(w, "  iamprune plan --snapshot %s/snapshot --config %s/least-privilege.yaml --now 2026-11-28 -o markdown\n", Root, Root)
}

// excerpt keeps the first n lines of a message.
func excerpt(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "[...]")
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
