package awsapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/archive"
)

// unarchiveBatch is how many finding ids one UpdateFindings call carries.
// The API documents no limit; small batches keep a failure's blast radius
// (and the request) small.
const unarchiveBatch = 25

// ArchiveRules reads and writes an analyzer's archive rules and the status
// of its findings. Rule calls take the analyzer's name, ApplyArchiveRule
// and finding calls its ARN, as the API does (AnalyzerName gives the name
// of an ARN).
type ArchiveRules struct {
	client *accessanalyzer.Client
}

// NewArchiveRules returns ArchiveRules calling region ("" = cfg's region):
// the analyzer's, which AnalyzerRegion reads from its ARN.
func NewArchiveRules(cfg aws.Config, region string) *ArchiveRules {
	return &ArchiveRules{client: accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) {
		if region != "" {
			o.Region = region
		}
	})}
}

// AnalyzerName returns the name of an analyzer ARN
// (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME).
func AnalyzerName(analyzerARN string) string {
	_, name, ok := strings.Cut(analyzerARN, ":analyzer/")
	if !ok {
		return ""
	}
	return name
}

// AnalyzerRegion returns the region of an analyzer ARN, "" if it has none.
func AnalyzerRegion(analyzerARN string) string {
	a, _ := iamprune.SplitARN(analyzerARN)
	return a.Region
}

// List returns every archive rule of the analyzer, iamprune's or not.
func (a *ArchiveRules) List(ctx context.Context, analyzerName string) ([]archive.Rule, error) {
	var out []archive.Rule
	p := accessanalyzer.NewListArchiveRulesPaginator(a.client, &accessanalyzer.ListArchiveRulesInput{AnalyzerName: aws.String(analyzerName)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("accessanalyzer: cannot list archive rules of analyzer %s: %w", analyzerName, err)
		}
		for _, r := range page.ArchiveRules {
			out = append(out, archive.Rule{Name: deref(r.RuleName), Filter: fromFilter(r.Filter)})
		}
	}
	return out, nil
}

// Create creates the rule. Its client token is fresh per call and reused by
// the SDK's retries, so a retried create is not doubled; a token derived
// from the rule would instead turn a later re-create of a deleted rule into
// a no-op inside the service's idempotency window.
func (a *ArchiveRules) Create(ctx context.Context, analyzerName string, r archive.Rule) error {
	_, err := a.client.CreateArchiveRule(ctx, &accessanalyzer.CreateArchiveRuleInput{
		AnalyzerName: aws.String(analyzerName),
		RuleName:     aws.String(r.Name),
		Filter:       toFilter(r.Filter),
		ClientToken:  aws.String(rand.Text()),
	})
	if err != nil {
		return fmt.Errorf("accessanalyzer: cannot create archive rule %s of analyzer %s: %w", r.Name, analyzerName, err)
	}
	return nil
}

// Update replaces the rule's filter.
func (a *ArchiveRules) Update(ctx context.Context, analyzerName string, r archive.Rule) error {
	_, err := a.client.UpdateArchiveRule(ctx, &accessanalyzer.UpdateArchiveRuleInput{
		AnalyzerName: aws.String(analyzerName),
		RuleName:     aws.String(r.Name),
		Filter:       toFilter(r.Filter),
		ClientToken:  aws.String(rand.Text()),
	})
	if err != nil {
		return fmt.Errorf("accessanalyzer: cannot update archive rule %s of analyzer %s: %w", r.Name, analyzerName, err)
	}
	return nil
}

// Delete deletes the rule. Findings it archived stay archived: see Unarchive.
func (a *ArchiveRules) Delete(ctx context.Context, analyzerName, ruleName string) error {
	_, err := a.client.DeleteArchiveRule(ctx, &accessanalyzer.DeleteArchiveRuleInput{
		AnalyzerName: aws.String(analyzerName),
		RuleName:     aws.String(ruleName),
		ClientToken:  aws.String(rand.Text()),
	})
	if err != nil {
		return fmt.Errorf("accessanalyzer: cannot delete archive rule %s of analyzer %s: %w", ruleName, analyzerName, err)
	}
	return nil
}

// Apply archives the existing findings the rule matches; a rule on its own
// only archives findings created after it.
func (a *ArchiveRules) Apply(ctx context.Context, analyzerARN, ruleName string) error {
	_, err := a.client.ApplyArchiveRule(ctx, &accessanalyzer.ApplyArchiveRuleInput{
		AnalyzerArn: aws.String(analyzerARN),
		RuleName:    aws.String(ruleName),
		ClientToken: aws.String(rand.Text()),
	})
	if err != nil {
		return fmt.Errorf("accessanalyzer: cannot apply archive rule %s of %s: %w", ruleName, analyzerARN, err)
	}
	return nil
}

// ArchivedFindings lists the analyzer's ARCHIVED findings.
func (a *ArchiveRules) ArchivedFindings(ctx context.Context, analyzerARN string) ([]archive.Finding, error) {
	var out []archive.Finding
	p := accessanalyzer.NewListFindingsV2Paginator(a.client, &accessanalyzer.ListFindingsV2Input{
		AnalyzerArn: aws.String(analyzerARN),
		Filter:      map[string]types.Criterion{"status": {Eq: []string{string(types.FindingStatusArchived)}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("accessanalyzer: cannot list archived findings of %s: %w", analyzerARN, err)
		}
		for _, f := range page.Findings {
			out = append(out, archive.Finding{ID: deref(f.Id), Resource: deref(f.Resource), Type: string(f.FindingType)})
		}
	}
	return out, nil
}

// Unarchive sets the findings back to ACTIVE, unarchiveBatch ids per call.
func (a *ArchiveRules) Unarchive(ctx context.Context, analyzerARN string, ids []string) error {
	for start := 0; start < len(ids); start += unarchiveBatch {
		batch := ids[start:min(start+unarchiveBatch, len(ids))]
		_, err := a.client.UpdateFindings(ctx, &accessanalyzer.UpdateFindingsInput{
			AnalyzerArn: aws.String(analyzerARN),
			Status:      types.FindingStatusUpdateActive,
			Ids:         batch,
			ClientToken: aws.String(rand.Text()),
		})
		if err != nil {
			return fmt.Errorf("accessanalyzer: cannot set %d finding(s) of %s back to ACTIVE (%s...): %w", len(batch), analyzerARN, batch[0], err)
		}
	}
	return nil
}

func toFilter(f map[string]archive.Criterion) map[string]types.Criterion {
	out := make(map[string]types.Criterion, len(f))
	for k, c := range f {
		out[k] = types.Criterion{Eq: c.Eq, Neq: c.Neq, Contains: c.Contains, Exists: c.Exists}
	}
	return out
}

func fromFilter(f map[string]types.Criterion) map[string]archive.Criterion {
	out := make(map[string]archive.Criterion, len(f))
	for k, c := range f {
		out[k] = archive.Criterion{Eq: c.Eq, Neq: c.Neq, Contains: c.Contains, Exists: c.Exists}
	}
	return out
}
