package main

import (
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/app"
)

func (m *Main) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Refine IAM policy documents to what is used",
	}
	cmd.AddCommand(m.policyRefineCommand())
	return cmd
}

type policyRefineOptions struct {
	policyPath string
	usagePath  string
	now        string
	olderThan  int
	output     string
}

func (m *Main) policyRefineCommand() *cobra.Command {
	var o policyRefineOptions
	cmd := &cobra.Command{
		Use:   "refine --policy FILE --usage FILE --older-than DAYS",
		Short: "Shrink a policy to the services and actions that were used",
		Long: `refine removes from a policy's Allow statements every service and action
unused for --older-than days or more (or never used), and prints the result.
Nothing in AWS is changed.

--usage is either an UnusedPermission finding, as 'aws accessanalyzer
get-finding-v2' prints it (every page of findingDetails merged, as in a
snapshot's findings.json), or one entry of a snapshot's last-accessed.json:
{"Arn": ..., ...the output of 'aws iam get-service-last-accessed-details'
with ACTION_LEVEL granularity}. An action is judged by its own last access
where AWS tracks actions, else by its service's. Services the usage does not
mention count as used.

The refinement never broadens anything: Deny statements, resources,
principals and conditions stay as they are; a wildcard that grants only
used actions is kept, any other is replaced by the used actions it granted,
re-compressed to svc:Prefix* where that grants nothing unused; a NotAction
Allow becomes an explicit list; statements left empty are dropped.

-o json prints the refined policy; -o diff a unified diff from the input
(normalised to the same layout) to the result, empty when nothing changed.`,
		Example: `  iamprune policy refine --policy WebAppPolicy.json --usage finding.json --older-than 90
  iamprune policy refine --policy p.json --usage last-accessed-entry.json --now 2026-11-28 --older-than 120 -o diff`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "json" && o.output != "diff" {
				return usagef("--output: %q is not json or diff", o.output)
			}
			if o.olderThan < 1 {
				return usagef("--older-than: must be at least 1 day, got %d", o.olderThan)
			}
			now, err := app.ParseNow(o.now, m.Now)
			if err != nil {
				return err
			}
			r, err := app.RefinePolicy(app.RefineRequest{PolicyPath: o.policyPath, UsagePath: o.usagePath, Now: now, OlderThanDays: o.olderThan, Logger: m.log()})
			if err != nil {
				return err
			}
			return app.WriteRefined(m.Stdout, m.Stderr, r, o.output, o.policyPath)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.policyPath, "policy", "", "the IAM policy document (JSON) to refine")
	f.StringVar(&o.usagePath, "usage", "", "usage: a GetFindingV2 output or a last-accessed.json entry")
	f.StringVar(&o.now, "now", "", "judge ages as of this time (RFC 3339 or YYYY-MM-DD) (default: the current time)")
	f.IntVar(&o.olderThan, "older-than", 0, "remove what was unused for this many days or more")
	f.StringVarP(&o.output, "output", "o", "json", "output format: json or diff")
	for _, name := range []string{"policy", "usage", "older-than"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
