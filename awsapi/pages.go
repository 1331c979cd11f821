package awsapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
)

// FindingScope narrows a FindingSource to the ACTIVE findings of one
// account (ListFindingsV2's resourceOwnerAccount filter) and, when
// PageSize > 0, to the one page of PageSize findings that PageToken starts
// ("" for the first): a fanned-out sweep's message.
type FindingScope struct {
	Account   string
	PageToken string
	PageSize  int
	// Next, when set, is told the token of the page after the scope's one
	// ("" after the last) the moment the page is listed, before any of its
	// findings is read: a chained sweep message enqueues the next page
	// then. Its error fails the listing.
	Next func(ctx context.Context, token string) error
}

// Scope narrows what Findings lists; call it before Findings.
func (s *FindingSource) Scope(sc FindingScope) { s.scope = sc }

func (s *FindingSource) listInput(arn, account string) *accessanalyzer.ListFindingsV2Input {
	filter := map[string]types.Criterion{"status": {Eq: []string{string(types.FindingStatusActive)}}}
	if account != "" {
		filter["resourceOwnerAccount"] = types.Criterion{Eq: []string{account}}
	}
	return &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(arn), Filter: filter}
}

// listPage lists the one page of the scope.
func (s *FindingSource) listPage(ctx context.Context, in *accessanalyzer.ListFindingsV2Input) ([]types.FindingSummaryV2, error) {
	in.MaxResults = aws.Int32(int32(s.scope.PageSize))
	if s.scope.PageToken != "" {
		in.NextToken = aws.String(s.scope.PageToken)
	}
	out, err := s.client.ListFindingsV2(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("accessanalyzer: cannot list findings of %s in account %s: %w", aws.ToString(in.AnalyzerArn), s.scope.Account, err)
	}
	if s.scope.Next != nil {
		if err := s.scope.Next(ctx, aws.ToString(out.NextToken)); err != nil {
			return nil, err
		}
	}
	return slices.DeleteFunc(out.Findings, func(f types.FindingSummaryV2) bool { return f.Id == nil }), nil
}

// FindingAccounts returns the accounts that own ACTIVE findings, sorted.
func (s *FindingSource) FindingAccounts(ctx context.Context) ([]string, error) {
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	p := accessanalyzer.NewListFindingsV2Paginator(s.client, s.listInput(arn, ""))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("accessanalyzer: cannot list findings of %s: %w", arn, err)
		}
		for _, f := range page.Findings {
			if a := aws.ToString(f.ResourceOwnerAccount); a != "" && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// CountPage lists one page of account's ACTIVE findings, only their
// summaries: the page that token starts ("" for the first), of at most
// size (1 to 1000) findings. It returns how many findings the page holds
// and the token of the next page ("" after the last). A fanned-out sweep
// lists an account this way, page by page, and sends each page's message
// as soon as it is listed.
func (s *FindingSource) CountPage(ctx context.Context, account, token string, size int) (n int, next string, err error) {
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return 0, "", err
	}
	in := s.listInput(arn, account)
	in.MaxResults = aws.Int32(int32(size))
	if token != "" {
		in.NextToken = aws.String(token)
	}
	page, err := s.client.ListFindingsV2(ctx, in)
	if err != nil {
		return 0, "", fmt.Errorf("accessanalyzer: cannot list findings of %s in account %s: %w", arn, account, err)
	}
	return len(page.Findings), aws.ToString(page.NextToken), nil
}
