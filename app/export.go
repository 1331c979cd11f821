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

// ExportSecurityHub sends the plan's entries as ASFF findings to AWS
// Security Hub (BatchImportFindings), the same findings 'plan -o asff'
// prints, and writes what was imported and what was rejected, finding by
// finding. Rejections make it fail (exit 1) once the report is written.
func ExportSecurityHub(ctx context.Context, req ExportRequest) error {
	if req.Output != "" && req.Output != "table" && req.Output != "json" {
		return iamprune.Errorf(iamprune.EINVALID, "--output: %q is not table or json", req.Output)
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
	var rejected []iamprune.RejectedFinding
	if len(raw) > 0 {
		var err error
		if rejected, err = hub.Import(ctx, raw); err != nil {
			return err
		}
	}
	logger(req.Logger).Info("findings exported to Security Hub", "sent", len(raw), "rejected", len(rejected), "region", region)
	if err := render.Exported(req.Out, len(raw), rejected, req.Output); err != nil {
		return err
	}
	if len(rejected) > 0 {
		return fmt.Errorf("%d of %d finding(s) rejected by Security Hub", len(rejected), len(raw))
	}
	return nil
}
