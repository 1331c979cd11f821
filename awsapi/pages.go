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
	return slices.DeleteFunc(out.Findings, func(f types.FindingSummaryV2) bool { return f.Id == nil }), nil
}

// AccountPages is where each page of an account's ACTIVE findings starts.
type AccountPages struct {
	Account string
	// Tokens are the ListFindingsV2 nextTokens that start each page, ""
	// for the first, and Sizes the pages' sizes (their maxResults);
	// Findings counts the findings listed.
	Tokens   []string
	Sizes    []int
	Findings int
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

// FindingPages lists account's ACTIVE findings in pages of size (1 to
// 1000), the first of first (1 to size), only their summaries, and
// returns where each page starts and its size. An account of at most
// size findings is one page, of size; one without findings is one empty
// page.
func (s *FindingSource) FindingPages(ctx context.Context, account string, first, size int) (AccountPages, error) {
	out := AccountPages{Account: account}
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return out, err
	}
	in := s.listInput(arn, account)
	in.MaxResults = aws.Int32(int32(first))
	for start := ""; ; {
		page, err := s.client.ListFindingsV2(ctx, in)
		if err != nil {
			return out, fmt.Errorf("accessanalyzer: cannot list findings of %s in account %s: %w", arn, account, err)
		}
		if len(page.Findings) > 0 || len(out.Tokens) == 0 {
			out.Tokens = append(out.Tokens, start)
			out.Sizes = append(out.Sizes, int(aws.ToInt32(in.MaxResults)))
		}
		out.Findings += len(page.Findings)
		start = aws.ToString(page.NextToken)
		if start == "" {
			if out.Findings <= size {
				out.Tokens, out.Sizes = out.Tokens[:1], []int{size}
			}
			return out, nil
		}
		in.NextToken, in.MaxResults = aws.String(start), aws.Int32(int32(size))
	}
}
