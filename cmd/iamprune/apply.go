package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/render"
)

// applyOptions are the flags of apply beyond the plan's.
type applyOptions struct {
	yes bool
	// maxActions is --max-actions, -1 when not given.
	maxActions int
	auditLog   string
}

// ApplyOptions are the flags, streams and dependencies of 'apply'.
type ApplyOptions struct {
	IO    *IOStreams
	Env   app.Env
	Plan  planOptions
	Apply applyOptions
	File  string
	// profile and region are the global flags, which the rollback needs too.
	profile, region string
	// Store opens the state store of --state.
	Store func(ctx context.Context, flag string, mustExist bool) (iamprune.Store, error)
	// Inputs loads the config and exceptions of the plan flags.
	Inputs func(context.Context, planOptions) (app.Inputs, error)
	// MakePlan plans afresh with the plan flags.
	MakePlan func(context.Context, planOptions, iamprune.Store) (*app.Planned, error)
}

// wire gives o the process's streams and dependencies, once the global
// flags (logging, retries) are parsed.
func (o *ApplyOptions) wire(m *Main) {
	o.IO, o.Env, o.profile, o.region = m.streams(), m.env(), m.profile, m.region
	o.Store, o.Inputs, o.MakePlan = m.openStore, m.loadInputs, m.makePlan
}

func (m *Main) applyCommand() *cobra.Command {
	opts := &ApplyOptions{}
	o, ao := &opts.Plan, &opts.Apply
	cmd := &cobra.Command{
		Use:     "apply [PLAN_FILE]",
		Short:   "Carry out the plan's remediations, after showing them and getting consent",
		Long:    applyLong,
		Example: applyExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ao.maxActions = -1
			if cmd.Flags().Changed("max-actions") {
				ao.maxActions, _ = cmd.Flags().GetInt("max-actions")
			}
			if len(args) == 1 {
				opts.File = args[0]
			}
			opts.wire(m)
			return runApply(cmd.Context(), opts)
		},
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.Lookup("output").Usage = "output format of the result: table or json ({\"run_id\", \"results\": [...], \"notifications\": [...], \"proposals\": [...]})"
	f.BoolVarP(&ao.yes, "yes", "y", false, "apply without asking (required when stdin is not a terminal)")
	f.Int("max-actions", 0, "override limits.max_actions_per_run for this run")
	f.StringVar(&ao.auditLog, "audit-log", "", auditLogUsage)
	return cmd
}

func runApply(ctx context.Context, o *ApplyOptions) error {
	if o.Plan.output != "table" && o.Plan.output != "json" {
		return usagef("--output: %q is not table or json", o.Plan.output)
	}
	if o.Plan.snapshot != "" {
		return usagef("apply changes AWS and cannot act on a snapshot; serve it with 'iamprune emulator' and point AWS_ENDPOINT_URL at it to try apply offline")
	}
	store, err := o.Store(ctx, o.Plan.state, false)
	if err != nil {
		return err
	}
	defer store.Close()
	p, err := o.planned(ctx, store)
	if err != nil {
		return err
	}
	// Show the plan: on stdout for people, on stderr when stdout is JSON.
	shown := o.IO.Out
	if o.Plan.output == "json" {
		shown = o.IO.ErrOut
	}
	if err := (render.Table{}).Render(shown, p.Plan); err != nil {
		return err
	}
	auditW, closeAudit, err := app.OpenAuditLog(o.Env, o.Apply.auditLog, o.Plan.state, o.IO.ErrOut)
	if err != nil {
		return err
	}
	defer closeAudit()
	res, err := app.Apply(ctx, o.Env, app.ApplyRequest{
		Planned: p, Store: store, Saved: o.File != "", MaxActions: o.Apply.maxActions,
		Consent: func(c app.Consent) error { return consentOrNothing(o.IO, shown, o.Apply.yes, c) },
		Audit:   auditW, Owner: lockOwner(),
	})
	if err != nil {
		return err
	}
	return o.report(p, res)
}

// planned is the plan to apply: the saved one named, with the config it
// was made with unless another is named, or a new one.
func (o *ApplyOptions) planned(ctx context.Context, store iamprune.Store) (*app.Planned, error) {
	if o.File == "" {
		return o.MakePlan(ctx, o.Plan, store)
	}
	plan, err := app.LoadPlan(o.File)
	if err != nil {
		return nil, err
	}
	po := o.Plan
	if po.configPath, err = app.SavedPlanConfig(o.Env, o.File, plan, po.configPath); err != nil {
		return nil, err
	}
	o.Plan.configPath = po.configPath // the rollback needs it too
	in, err := o.Inputs(ctx, po)
	if err != nil {
		return nil, err
	}
	return app.SavedPlan(ctx, o.Env, plan, in, po.analyzer, store)
}

// consentOrNothing asks for consent to what the run would do, or says
// there is nothing new to do; a blank line then separates the result.
func consentOrNothing(ios *IOStreams, shown io.Writer, yes bool, c app.Consent) error {
	// With nothing to do there is nothing to consent to: the run only
	// confirms, with reads, that what was done is still done.
	if len(c.What) == 0 {
		fmt.Fprintln(shown, "\nNothing new to apply: every remediation of the plan is already done.")
	} else if err := confirm(ios, yes, c.Account, strings.Join(c.What, " and ")+" in account "+c.Account); err != nil {
		return err
	}
	fmt.Fprintln(shown)
	return nil
}

// report renders the run's result, how to undo it, and its problems; or
// why there was nothing to do.
func (o *ApplyOptions) report(p *app.Planned, res *app.ApplyResult) error {
	run, table := res.Run, o.Plan.output == "table"
	if run == nil {
		run = &iamprune.RunResult{Results: []iamprune.ActionResult{}}
		fmt.Fprintln(o.IO.ErrOut, res.Nothing)
	}
	if table && res.Run == nil {
		// Nothing was run: the reason is the whole result.
	} else if err := render.Run(o.IO.Out, run, o.Plan.output, "applied"); err != nil {
		return err
	}
	if len(p.Inputs.Config.Notifications.Channels) > 0 && table && res.Run != nil {
		fmt.Fprintln(o.IO.Out, render.NoticeSummary(run.Notifications))
	}
	if table && run.RunID != "" && run.Refused == "" && res.Undoable() {
		undo := render.RollbackCommand(run.RunID, [2]string{"--state", o.Plan.state}, [2]string{"--config", o.Plan.configPath}, [2]string{"--audit-log", o.Apply.auditLog},
			[2]string{"--profile", o.profile}, [2]string{"--region", o.region})
		fmt.Fprintln(o.IO.Out, "Undo with: "+undo)
	}
	if run.Failed() {
		return errProblems
	}
	// Accounts that could not be reached, or may not be changed, are
	// problems to report, even though nothing failed there.
	if res.Unreachable > 0 {
		fmt.Fprintf(o.IO.ErrOut, "iamprune: %d member account(s) unreachable; their findings were skipped (see the plan)\n", res.Unreachable)
		return errProblems
	}
	if len(res.OutsideAllowlist) > 0 {
		fmt.Fprintf(o.IO.ErrOut, "iamprune: findings in account(s) %s were skipped: not in the config's accounts allowlist\n", strings.Join(res.OutsideAllowlist, ", "))
		return errProblems
	}
	return nil
}

// confirm asks for consent: --yes, or the account id typed at a terminal.
func confirm(ios *IOStreams, yes bool, account, what string) error {
	return app.Confirm(app.Prompt{In: ios.In, Out: ios.ErrOut, IsTTY: ios.InTTY}, yes, account, what)
}

const applyLong = `apply makes the remediations of a plan, the way terraform apply does:

  iamprune apply                 plans now (same inputs as 'plan'), shows the plan,
                                 and applies it after consent
  iamprune plan --out plan.json  then, after review:
  iamprune apply plan.json       applies exactly that reviewed plan, and refuses
                                 it when the world changed since (stale plan)

Nothing changes without consent: --yes, or typing the account id at the
prompt on a terminal. Only remediation entries are applied; notify, exempt,
protected and skip entries never change IAM. propose-policy entries change
no IAM either: their refined policies are written into the repository named
by the config's propose: block, and one pull request per account is opened
or updated (the token comes from $GITHUB_TOKEN, or propose.token_env).
Member accounts are changed through the role the config names
(accounts.role_name), assumed once per account.

Guards, all re-checked at apply time, even for a saved plan:
  - the live state is read just before each change: a credential used since
    the finding, a finding no longer ACTIVE, a principal that became
    protected or exempt, a key or principal that is gone: the action is
    skipped with the reason;
  - protected principals are never touched, whatever the plan says;
  - limits.max_actions_per_run: a run that would make more changes applies
    nothing (--max-actions N overrides it explicitly);
  - the config's accounts allowlist;
  - one run per account at a time (a lock in the state store).

Every change is journaled in the state store with its exact pre-change state
before the AWS call, so that 'iamprune rollback RUN_ID' can undo it, and an
interrupted run is reconciled by the next one. Every change and skip is
also written as a JSON line to the audit log: iamprune-audit.jsonl beside
the state store (for a DynamoDB table, in $XDG_STATE_HOME/iamprune), or
--audit-log FILE, or --audit-log - for stderr.

Exit code 1 when any action failed or the run was refused.`

const applyExample = `  iamprune apply --config iamprune.yaml
  iamprune plan --out plan.json && iamprune apply plan.json --yes -o json
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 iamprune apply --yes`

const auditLogUsage = "append the JSON-lines audit log to this file, - for stderr (default: " + app.AuditLogName + " beside the state store)"
