package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
	"github.com/iamprune/iamprune/gitops"
	"github.com/iamprune/iamprune/policy"
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

// proposePreflight checks, before any change, what a plan's proposals need
// that the config cannot say: the GitHub token.
func (m *Main) proposePreflight(cfg iamprune.Config, plan *iamprune.Plan) error {
	if len(proposals(plan)) == 0 || cfg.Propose.Mode != iamprune.ProposeGitHub {
		return nil
	}
	if m.Getenv(cfg.Propose.TokenEnv) == "" {
		return iamprune.Errorf(iamprune.EINVALID, "nothing changed: the plan proposes pull requests but $%s is not set (a GitHub token with contents and pull-requests write access; or set propose.mode: local)", cfg.Propose.TokenEnv)
	}
	return nil
}

// propose writes the refined policies of the plan's propose-policy entries
// into the infrastructure repository and opens or updates one pull request
// per account. IAM is not touched. The guards apply re-checks hold here
// too: protected principals, exceptions added since the plan, the accounts
// allowlist, and documents that must only narrow. A failure is reported in
// the result, per account, and never undoes the run's other changes.
func (m *Main) propose(ctx context.Context, p *planned, runID string, log *audit.Logger) []iamprune.ProposalResult {
	byAccount := proposals(p.plan)
	if len(byAccount) == 0 {
		return nil
	}
	cfg := p.in.cfg.Propose
	if p.facts == nil && p.aws != nil {
		// A saved plan: the principals' iamprune:source tags are read now.
		f, err := m.savedPlanFacts(ctx, p)
		if err != nil {
			m.log().Warn("propose: cannot read the principals' tags; mapping by propose.files only", "err", err)
		}
		p.facts = f
	}
	token := m.Getenv(cfg.TokenEnv)
	pr := &gitops.Proposer{Config: cfg, Token: token, Now: m.Now, Logger: m.log()}
	var out []iamprune.ProposalResult
	for _, acct := range slices.Sorted(maps.Keys(byAccount)) {
		r := iamprune.ProposalResult{Account: acct, Mode: cfg.Mode}
		actions, dropped := m.proposable(p, byAccount[acct])
		switch {
		case len(p.in.cfg.Accounts) > 0 && !slices.Contains(p.in.cfg.Accounts, acct):
			r.Error = fmt.Sprintf("propose: account %s is not in the config's accounts allowlist", acct)
		case len(actions) == 0:
			r.Summary = "nothing to propose: " + strings.Join(dropped, "; ")
		case cfg.Mode == iamprune.ProposeGitHub && token == "":
			r.Error = fmt.Sprintf("propose: $%s is not set: a GitHub token with contents and pull-requests write access is needed to push and open the pull request (or set propose.mode: local)", cfg.TokenEnv)
		default:
			res, err := pr.Propose(ctx, gitops.Request{RunID: runID, Account: acct, Actions: actions, Facts: p.facts, PlanMarkdown: accountMarkdown(m, p.plan, acct)})
			if err != nil {
				r.Error = err.Error()
			} else {
				r = proposalResult(acct, res)
			}
		}
		r.Unmapped = append(r.Unmapped, dropped...)
		detail := r.Summary
		if r.Error != "" {
			detail = r.Error
		}
		log.Log(audit.Event{Event: "proposal", RunID: runID, Account: acct, Kind: string(iamprune.KindProposePolicy), Status: proposalStatus(r), Detail: detail})
		out = append(out, r)
	}
	return out
}

// proposable re-checks the entries at proposal time, as apply re-checks
// its changes: it drops protected principals, entries an exception now
// covers, and policy changes that are not a narrowing of the old document
// to the entry's services, saying why.
func (m *Main) proposable(p *planned, actions []iamprune.Action) (keep []iamprune.Action, dropped []string) {
	prot := iamprune.Protection{Globs: p.in.cfg.ProtectedGlobs(), Caller: p.caller}
	for _, a := range actions {
		if why := prot.Check(a.Principal, ""); why != "" {
			dropped = append(dropped, a.Principal+": protected: "+why)
			continue
		}
		if e := coveringException(p.in.exceptions, a, p.in.now); e != "" {
			dropped = append(dropped, a.Principal+": exempt by exception "+e+"; plan again")
			continue
		}
		var ok []iamprune.PolicyChange
		for _, pc := range a.Policies {
			if err := policy.Narrows(pc.Before, pc.After, a.Services); err != nil {
				dropped = append(dropped, fmt.Sprintf("%s %s: refused: the new document is not the old one narrowed to %s: %v", a.Principal, pc.Name, strings.Join(a.Services, ", "), err))
				continue
			}
			ok = append(ok, pc)
		}
		if len(ok) > 0 {
			a.Policies = ok
			keep = append(keep, a)
		}
	}
	return keep, dropped
}

// coveringException returns the pattern of an exception that now covers
// one of the entry's services, or "".
func coveringException(excs []iamprune.Exception, a iamprune.Action, now time.Time) string {
	for _, e := range iamprune.MatchExceptions(excs, a.Principal, a.FindingType, now) {
		for _, s := range a.Services {
			if e.CoversService(s) {
				return e.Principal
			}
		}
	}
	return ""
}

// accountMarkdown renders the plan's entries of one account, for that
// account's pull request: other accounts' entries are not its reviewers'
// business.
func accountMarkdown(m *Main, plan *iamprune.Plan, acct string) string {
	one := *plan
	one.Account = acct
	one.Actions = nil
	for _, a := range plan.Actions {
		if a.Account == acct {
			one.Actions = append(one.Actions, a)
		}
	}
	var md bytes.Buffer
	if err := (render.Markdown{}).Render(&md, &one); err != nil {
		m.log().Warn("propose: cannot render the plan for the pull request", "err", err)
	}
	return md.String()
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

// relativeToConfig makes a relative local path in a config file (the
// exceptions file, the propose repository) relative to that file; URLs
// (s3://, https://) and scp-like git addresses stay as they are.
func relativeToConfig(p, configPath string) string {
	if p == "" || configPath == "" || filepath.IsAbs(p) || strings.Contains(p, ":") {
		return p
	}
	return filepath.Join(filepath.Dir(configPath), p)
}
