package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/render"
	"github.com/iamprune/iamprune/securityhub"
)

// ExportRequest is what ExportSecurityHub needs.
type ExportRequest struct {
	// Plan is the plan to export, made with the state store so that
	// remediated and rolled-back items carry their status.
	Plan *iamprune.Plan
	// Options give the version and the region ("" takes the AWS
	// configuration's).
	Options render.Options
	// Hub receives the findings; nil uses Security Hub through LoadAWS.
	Hub     iamprune.FindingsHub
	LoadAWS LoadAWS
	// Out receives the report, as Output: table (default) or json.
	Out    io.Writer
	Output string
	Logger *slog.Logger
}

// ExportOutputUsage is the help of export securityhub's --output.
const ExportOutputUsage = `output format of the result: table or json ({"format_version", "sent", "imported", "rejected": [...]})`

// CheckExportOutput refuses an output format export securityhub does not
// write (EINVALID), before the plan is made.
func CheckExportOutput(format string) error {
	if format != "" && format != "table" && format != "json" {
		return iamprune.Errorf(iamprune.EINVALID, "--output: %q is not table or json (the plan's exports: 'iamprune plan -o csv|ocsf|asff')", format)
	}
	return nil
}

// ExportSecurityHub sends the plan's entries as ASFF findings to AWS
// Security Hub (BatchImportFindings), the same findings 'plan -o asff'
// prints, and writes what was imported and what was rejected, finding by
// finding. Rejections make it fail (exit 1) once the report is written.
func ExportSecurityHub(ctx context.Context, req ExportRequest) error {
	if err := CheckExportOutput(req.Output); err != nil {
		return err
	}
	hub, region := req.Hub, req.Options.Region
	if hub == nil {
		cfg, _, err := req.LoadAWS(ctx)
		if err != nil {
			return err
		}
		hub, region = securityhub.New(cfg), cmp.Or(region, cfg.Region)
	}
	findings := render.ASFFFindings(req.Plan, region)
	raw := make([]json.RawMessage, len(findings))
	for i, f := range findings {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		raw[i] = b
	}
	rejected, err := importFindings(ctx, hub, req.Plan, findings, raw)
	if err != nil {
		return err
	}
	// Sides of a permission finding this plan no longer has (a notify side
	// whose services all came due) are archived, not left open beside
	// the side that replaced them.
	archived := 0
	if stale := render.ASFFAbsentSides(req.Plan, region); len(stale) > 0 && len(raw) > 0 {
		n, rej, err := hub.Archive(ctx, stale, req.Plan.GeneratedAt)
		if err != nil {
			return err
		}
		archived, rejected = n, append(rejected, rej...)
	}
	logger(req.Logger).Info("findings exported to Security Hub", "sent", len(raw), "rejected", len(rejected), "archived", archived, "region", region)
	if err := render.Exported(req.Out, len(raw), rejected, req.Output); err != nil {
		return err
	}
	if len(rejected) > 0 {
		return fmt.Errorf("%d of %d finding(s) rejected by Security Hub", len(rejected), len(raw))
	}
	return nil
}

// importFindings imports the findings, then sets the workflow status of
// those whose status records what iamprune did (render.Status.Owned):
// Security Hub keeps the workflow of a finding that exists from imports.
// It returns the findings rejected by either step.
func importFindings(ctx context.Context, hub iamprune.FindingsHub, p *iamprune.Plan, findings []render.ASFFFinding, raw []json.RawMessage) ([]iamprune.RejectedFinding, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	rejected, err := hub.Import(ctx, raw)
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	for _, r := range rejected {
		failed[r.ID] = true
	}
	owned := map[string][]iamprune.FindingRef{}
	var statuses []string
	for i, a := range p.Actions {
		st := render.StatusOf(a)
		if !st.Owned || failed[findings[i].ID] {
			continue
		}
		if owned[st.Workflow] == nil {
			statuses = append(statuses, st.Workflow)
		}
		owned[st.Workflow] = append(owned[st.Workflow], iamprune.FindingRef{ID: findings[i].ID, ProductArn: findings[i].ProductArn})
	}
	for _, status := range statuses {
		rej, err := hub.SetWorkflow(ctx, status, owned[status])
		if err != nil {
			return nil, err
		}
		rejected = append(rejected, rej...)
	}
	return rejected, nil
}
