package main

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/remediate"
)

// memberExecutors returns apply's executors for member accounts: each acts
// with the credentials of the role assumed there, made once per account
// and run, like the facts that planned them.
func memberExecutors(org *awsapi.OrgFacts, opts remediate.Options) func(context.Context, string) (map[iamprune.ActionKind]iamprune.Executor, error) {
	var (
		mu    sync.Mutex
		cache = map[string]map[iamprune.ActionKind]iamprune.Executor{}
	)
	return func(ctx context.Context, account string) (map[iamprune.ActionKind]iamprune.Executor, error) {
		mu.Lock()
		defer mu.Unlock()
		if e, ok := cache[account]; ok {
			return e, nil
		}
		cfg, err := org.Accounts().Config(ctx, account)
		if err != nil {
			return nil, err
		}
		e := remediate.Executors(iam.NewFromConfig(cfg), opts)
		cache[account] = e
		return e, nil
	}
}

// findingsOf names, for a saved plan, the principals and accounts whose
// facts are needed to notify their owners: the facts are read for these.
func findingsOf(p *iamprune.Plan) []iamprune.Finding {
	seen := map[string]bool{}
	var out []iamprune.Finding
	for _, a := range p.Actions {
		if seen[a.Principal] {
			continue
		}
		seen[a.Principal] = true
		out = append(out, iamprune.Finding{ID: a.FindingID, Type: a.FindingType, Resource: a.Principal, Account: a.Account, Status: iamprune.StatusActive})
	}
	return out
}
