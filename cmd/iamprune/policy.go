package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/policy"
	"github.com/iamprune/iamprune/snapshot"
)

func (m *Main) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Refine IAM policy documents to what is used",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for \"iamprune policy\" (want refine)", args[0])
			}
			return cmd.Help()
		},
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
			return m.runPolicyRefine(o)
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

func (m *Main) runPolicyRefine(o policyRefineOptions) error {
	if o.output != "json" && o.output != "diff" {
		return usagef("--output: %q is not json or diff", o.output)
	}
	if o.olderThan < 1 {
		return usagef("--older-than: must be at least 1 day, got %d", o.olderThan)
	}
	now, err := parseNow(o.now, m.Now)
	if err != nil {
		return err
	}
	raw, err := readFlagFile("--policy", o.policyPath)
	if err != nil {
		return err
	}
	doc, err := policy.Parse(raw)
	if err != nil {
		return fileError("--policy", o.policyPath, err)
	}
	usage, err := m.loadUsage(o.usagePath)
	if err != nil {
		return fileError("--usage", o.usagePath, err)
	}
	refined, report, err := policy.Refine(doc, usage, now, o.olderThan)
	if err != nil {
		return fmt.Errorf("policy refine: %w", err)
	}
	out, err := policy.Marshal(refined)
	if err != nil {
		return fmt.Errorf("policy refine: %w", err)
	}
	if len(refined.Statement) == 0 && len(doc.Statement) > 0 {
		fmt.Fprintln(m.Stderr, "iamprune: nothing the policy allows was used: every statement was removed; delete or detach the policy rather than writing this document")
	}
	if o.output == "json" {
		_, err = fmt.Fprintf(m.Stdout, "%s\n", out)
		return err
	}
	before, err := policy.Marshal(doc)
	if err != nil {
		return fmt.Errorf("policy refine: %w", err)
	}
	if !report.Changed() {
		return nil
	}
	_, err = fmt.Fprint(m.Stdout, policy.UnifiedDiff("a/"+o.policyPath, "b/"+o.policyPath, before, out))
	return err
}

func readFlagFile(flag, path string) ([]byte, error) {
	b, err := input.ReadFile(path, input.MaxDocument)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s %s: file does not exist", flag, path)
	}
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "%s %s: cannot read: %v", flag, path, err)
	}
	return b, nil
}

// fileError names the file in front of a parse error's field path; an
// *iamprune.Error keeps its code, so bad input still exits 2.
func fileError(flag, path string, err error) error {
	code := iamprune.ErrorCode(err)
	if code == iamprune.EINTERNAL {
		code = iamprune.EINVALID
	}
	return &iamprune.Error{Code: code, Message: flag + " " + path, Err: err}
}

// loadUsage reads --usage: a GetFindingV2 output (an object with
// findingDetails) or a last-accessed.json entry (an object with
// ServicesLastAccessed). A one-element array of either is accepted too, as
// cut from findings.json or last-accessed.json.
func (m *Main) loadUsage(path string) (policy.Usage, error) {
	raw, err := readFlagFile("--usage", path)
	if err != nil {
		return policy.Usage{}, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "invalid JSON: %v", err)
		}
		if len(list) != 1 {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "a list of %d entries: pass one finding or one last-accessed.json entry", len(list))
		}
		raw = list[0]
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "not a JSON object: %v", err)
	}
	switch {
	case probe["findingDetails"] != nil:
		return m.usageFromFinding(path, raw)
	case probe["ServicesLastAccessed"] != nil:
		return policy.UsageFromLastAccessed(raw)
	}
	return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "neither a GetFindingV2 output (findingDetails) nor a last-accessed.json entry (ServicesLastAccessed)")
}

// usageFromFinding reads an UnusedPermission finding in the snapshot's
// findings.json form. Details of other kinds are skipped with a warning.
func (m *Main) usageFromFinding(path string, raw []byte) (policy.Usage, error) {
	var f struct {
		ID             string            `json:"id"`
		Resource       string            `json:"resource"`
		FindingType    string            `json:"findingType"`
		FindingDetails []json.RawMessage `json:"findingDetails"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "not a GetFindingV2 output: %v", err)
	}
	if f.FindingType != "" && f.FindingType != string(iamprune.UnusedPermission) {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "findingType: %q is not %s", f.FindingType, iamprune.UnusedPermission)
	}
	finding := iamprune.Finding{ID: f.ID, Type: iamprune.UnusedPermission, Resource: f.Resource}
	for i, rd := range f.FindingDetails {
		field := fmt.Sprintf("findingDetails[%d]", i)
		var d snapshot.FindingDetail
		if err := json.Unmarshal(rd, &d); err != nil {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "%s: %v", field, err)
		}
		p := d.UnusedPermissionDetails
		if p == nil {
			m.log().Warn("finding detail skipped: not unusedPermissionDetails", "file", path, "field", field, "member", d.Member())
			continue
		}
		if p.ServiceNamespace == "" {
			return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "%s.unusedPermissionDetails.serviceNamespace: missing", field)
		}
		s := iamprune.ServiceUsage{Namespace: p.ServiceNamespace, LastAccessed: p.LastAccessed}
		for _, a := range p.Actions {
			s.Actions = append(s.Actions, iamprune.ActionUsage{Action: a.Action, LastAccessed: a.LastAccessed})
		}
		finding.Services = append(finding.Services, s)
	}
	if len(finding.Services) == 0 {
		return policy.Usage{}, iamprune.Errorf(iamprune.EINVALID, "findingDetails: no unusedPermissionDetails: not an UnusedPermission finding")
	}
	return policy.UsageFromFinding(finding), nil
}
