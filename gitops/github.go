package gitops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/iamprune/iamprune"
)

func (p *Proposer) client() (*github.Client, error) {
	hc := p.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: iamprune.GuardedTransport()}
	}
	if p.Token != "" {
		if err := checkTokenURL(p.apiURL()); err != nil {
			return nil, iamprune.Errorf(iamprune.EINVALID, "propose.github_api: %v", err)
		}
		// go-github sets the token on every request it sends, redirects
		// included: never follow one to plain HTTP.
		c := *hc
		next := hc.CheckRedirect
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := checkTokenURL(req.URL.String()); err != nil {
				return fmt.Errorf("redirected: %v", err)
			}
			if next != nil {
				return next(req, via)
			}
			if len(via) >= 10 {
				return fmt.Errorf("stopped after 10 redirects")
			}
			return nil
		}
		hc = &c
	}
	c := github.NewClient(hc)
	if p.Token != "" {
		c = c.WithAuthToken(p.Token)
	}
	if api := p.Config.GitHubAPI; api != "" {
		// BaseURL is used as given: WithEnterpriseURLs would append
		// /api/v3/, which GitHub Enterprise needs but api.github.com and
		// test servers do not have.
		if !strings.HasSuffix(api, "/") {
			api += "/"
		}
		u, err := url.Parse(api)
		if err != nil || u.Host == "" {
			return nil, iamprune.Errorf(iamprune.EINVALID, "propose.github_api: %q is not a URL", p.Config.GitHubAPI)
		}
		c.BaseURL = u
	}
	return c, nil
}

// apiURL is the GitHub API base URL in use.
func (p *Proposer) apiURL() string {
	if p.Config.GitHubAPI != "" {
		return p.Config.GitHubAPI
	}
	return "https://api.github.com/"
}

// pullRequest updates the open pull request of branch, or creates one. When
// the branch did not change (changed=false) an open pull request is left
// alone, and none is created if one for the same commit was closed: closing
// the pull request is how a proposal is rejected.
func (p *Proposer) pullRequest(ctx context.Context, owner, name, branch, base, title, body, head string, changed bool) (*PullRequest, error) {
	gh, err := p.client()
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) error {
		return iamprune.Errorf(iamprune.ECONFLICT, "propose: GitHub %s/%s: %s: %v", owner, name, what, err)
	}
	open, _, err := gh.PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{State: "open", Head: owner + ":" + branch})
	if err != nil {
		return nil, fail("list pull requests", err)
	}
	if len(open) > 0 {
		pr := open[0]
		out := &PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL()}
		if !changed {
			return out, nil
		}
		if _, _, err := gh.PullRequests.Edit(ctx, owner, name, pr.GetNumber(), &github.PullRequest{Title: &title, Body: &body}); err != nil {
			return nil, fail(fmt.Sprintf("update pull request #%d", pr.GetNumber()), err)
		}
		out.Updated = true
		return out, nil
	}
	if !changed {
		closed, _, err := gh.PullRequests.List(ctx, owner, name, &github.PullRequestListOptions{State: "closed", Head: owner + ":" + branch})
		if err != nil {
			return nil, fail("list pull requests", err)
		}
		for _, pr := range closed {
			if pr.GetHead().GetSHA() == head {
				return nil, nil // rejected as it stands
			}
		}
	}
	pr, _, err := gh.PullRequests.Create(ctx, owner, name, &github.NewPullRequest{
		Title: &title, Head: &branch, Base: &base, Body: &body,
	})
	if err != nil {
		return nil, fail("create pull request", err)
	}
	return &PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL()}, nil
}
