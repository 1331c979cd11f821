package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/gitops"
	"github.com/iamprune/iamprune/render"
)

// proposals returns the plan's propose-policy entries that have refined
// policies to propose, by account.
func proposals(plan *iamprune.Plan) map[string][]iamprune.Action {
	out := map[string][]iamprune.Action{}
	for _, a := range plan.Actions {
		if a.Kind == iamprune.KindProposePolicy && len(a.Policies) > 0 {
			out[a.Account] = append(out[a.Account], a)
		}
	}
	return out
}

// propose writes the refined policies of the plan's propose-policy entries
// into the infrastructure repository and opens or updates one pull request
// per account. IAM is not touched. A failure is reported in the result, per
// account, and never undoes the run's other changes.
func (m *Main) propose(ctx context.Context, p *planned, runID string, log *audit.Logger) []iamprune.ProposalResult {
	byAccount := proposals(p.plan)
	if len(byAccount) == 0 {
		return nil
	}
	cfg := p.in.cfg.Propose
	var md bytes.Buffer
	if err := (render.Markdown{}).Render(&md, p.plan); err != nil {
		m.log().Warn("propose: cannot render the plan for the pull request", "err", err)
	}
	token := m.Getenv(cfg.TokenEnv)
	pr := &gitops.Proposer{Config: cfg, Token: token, Now: m.Now, Logger: m.log()}
	var out []iamprune.ProposalResult
	for _, acct := range slices.Sorted(maps.Keys(byAccount)) {
		r := iamprune.ProposalResult{Account: acct, Mode: cfg.Mode}
		if cfg.Mode == iamprune.ProposeGitHub && token == "" {
			r.Error = fmt.Sprintf("propose: $%s is not set: a GitHub token with contents and pull-requests write access is needed to push and open the pull request (or set propose.mode: local)", cfg.TokenEnv)
		} else {
			res, err := pr.Propose(ctx, gitops.Request{RunID: runID, Account: acct, Actions: byAccount[acct], Facts: p.facts, PlanMarkdown: md.String()})
			if err != nil {
				r.Error = err.Error()
			} else {
				r = proposalResult(acct, res)
			}
		}
		detail := r.Summary
		if r.Error != "" {
			detail = r.Error
		}
		log.Log(audit.Event{Event: "proposal", RunID: runID, Account: acct, Kind: string(iamprune.KindProposePolicy), Status: proposalStatus(r), Detail: detail})
		out = append(out, r)
	}
	return out
}

func proposalResult(acct string, res *gitops.Result) iamprune.ProposalResult {
	r := iamprune.ProposalResult{Account: acct, Mode: res.Mode, Branch: res.Branch, Commit: res.Commit, NoChange: res.NoChange, Summary: res.Summary}
	if res.PullRequest != nil {
		r.PullRequest, r.Number, r.Updated = res.PullRequest.URL, res.PullRequest.Number, res.PullRequest.Updated
	}
	for _, f := range res.Files {
		if f.Status == gitops.StatusWritten || f.Status == gitops.StatusUnchanged {
			r.Files++
		}
	}
	for _, u := range res.Unmapped {
		r.Unmapped = append(r.Unmapped, fmt.Sprintf("%s %s: %s", u.Principal, u.Policy, u.Why))
	}
	return r
}

func proposalStatus(r iamprune.ProposalResult) string {
	switch {
	case r.Error != "":
		return iamprune.ResultFailed
	case r.NoChange:
		return iamprune.ResultAlreadyDone
	}
	return iamprune.ResultDone
}

// resolveRepo makes a relative local repository path relative to the
// config file, as the exceptions path is; URLs and scp-like git addresses
// stay as they are.
func resolveRepo(repo, configPath string) string {
	if repo == "" || configPath == "" || filepath.IsAbs(repo) || strings.Contains(repo, ":") {
		return repo
	}
	return filepath.Join(filepath.Dir(configPath), repo)
}
