package awsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"

	"github.com/iamprune/iamprune"
)

// FindingSource reads the ACTIVE findings of one unused-access analyzer,
// each with every page of its details.
type FindingSource struct {
	// OnProgress, if set, is called as finding details arrive: first with
	// done=0 once the total is known, then after each finding. Calls are
	// serialised and done only grows; in EachChunk the total grows too,
	// as each chunk is listed.
	OnProgress func(done, total int)

	client   *accessanalyzer.Client
	region   string
	analyzer string
	opts     options

	mu       sync.Mutex
	resolved string
	usage    IAMUsage // UseIAM
	// cache holds the findings this run has read (Findings, Finding) or
	// kept (Keep), so that re-checks do not repeat GetFindingV2 calls.
	cache map[string]*iamprune.Finding
	// scope narrows the listing to one account, or one page (pages.go).
	scope FindingScope
}

var (
	_ iamprune.FindingSource = (*FindingSource)(nil)
	_ iamprune.FindingGetter = (*FindingSource)(nil)
)

// NewFindingSource returns a source for analyzer, which is
// iamprune.AnalyzerAuto (the configured region's one active unused-access
// analyzer) or an analyzer ARN, used as is and called in its own region.
func NewFindingSource(cfg aws.Config, analyzer string, opts ...Option) *FindingSource {
	if analyzer == "" {
		analyzer = iamprune.AnalyzerAuto
	}
	region := cfg.Region
	// An analyzer lives in one region: call that region whatever the
	// configured one is.
	if a, ok := iamprune.SplitARN(analyzer); ok && a.Region != "" {
		region = a.Region
	}
	return &FindingSource{
		client: accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) {
			o.Region = region
		}),
		region:   region,
		analyzer: analyzer,
		opts:     newOptions(opts),
	}
}

// NoAnalyzerError is what discovery gives when the region has no active
// unused-access analyzer; it is bad input (EINVALID) to a command that
// needs one.
type NoAnalyzerError struct{ Region string }

func (e *NoAnalyzerError) Error() string {
	return fmt.Sprintf("accessanalyzer: no active unused-access analyzer in %s; create one or pass --analyzer ARN (or plan from IAM's own data with --source iam)", e.Region)
}

func (e *NoAnalyzerError) Unwrap() error {
	return &iamprune.Error{Code: iamprune.EINVALID, Message: e.Error()}
}

// AnalyzerARN returns the analyzer the source reads, discovering it on the
// first call when the source was made with "auto".
func (s *FindingSource) AnalyzerARN(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resolved != "" {
		return s.resolved, nil
	}
	if s.analyzer != iamprune.AnalyzerAuto {
		s.resolved = s.analyzer
		return s.resolved, nil
	}
	arn, err := s.discover(ctx)
	if err != nil {
		return "", err
	}
	s.resolved = arn
	return arn, nil
}

// discover picks the region's active unused-access analyzer. One of each
// type (account and organisation) is a common setup, and the account one
// is the narrower, so it wins; any other ambiguity is the user's to settle.
func (s *FindingSource) discover(ctx context.Context) (string, error) {
	var account, org []string
	p := accessanalyzer.NewListAnalyzersPaginator(s.client, &accessanalyzer.ListAnalyzersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("accessanalyzer: cannot list analyzers in %s: %w", s.region, err)
		}
		for _, a := range page.Analyzers {
			if a.Status != types.AnalyzerStatusActive || a.Arn == nil {
				continue
			}
			switch a.Type {
			case types.TypeAccountUnusedAccess:
				account = append(account, *a.Arn)
			case types.TypeOrganizationUnusedAccess:
				org = append(org, *a.Arn)
			}
		}
	}
	switch {
	case len(account)+len(org) == 0:
		return "", &NoAnalyzerError{Region: s.region}
	case len(account)+len(org) == 1:
		return slices.Concat(account, org)[0], nil
	case len(account) == 1 && len(org) == 1:
		s.opts.logger.Info("several unused-access analyzers: using the account analyzer",
			"analyzer", account[0], "ignored", org[0])
		return account[0], nil
	}
	all := slices.Concat(account, org)
	slices.Sort(all)
	return "", iamprune.Errorf(iamprune.EINVALID,
		"accessanalyzer: %d active unused-access analyzers in %s (%s); pass --analyzer ARN to choose one",
		len(all), s.region, strings.Join(all, ", "))
}

// Findings lists the analyzer's ACTIVE findings and reads each one's
// details, keeping the ListFindingsV2 order, and remembers them all for
// Finding. With UseIAM, roles and passwords whose last use IAM gives are
// not read: their summaries and that last use are the whole finding.
func (s *FindingSource) Findings(ctx context.Context) ([]iamprune.Finding, []iamprune.Warning, error) {
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return nil, nil, err
	}
	sums, err := s.listSummaries(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	findings, warnings, err := s.readFindings(ctx, arn, sums, &progress{})
	if err != nil {
		return nil, nil, err
	}
	for _, f := range findings {
		s.remember(f)
	}
	return findings, warnings, nil
}

// streamChunk bounds the findings EachChunk reads and hands over at once:
// a ListFindingsV2 page, or a part of a larger one.
const streamChunk = 100

// EachChunk is Findings for a run that must not hold them all: it lists
// the findings a page at a time and hands them to fn in chunks of at most
// streamChunk, in the order Findings gives, each read as Findings reads it
// (the same calls, once each). The warnings about unusable findings come
// at the end. Nothing is remembered for Finding: Keep what apply will
// re-check. OnProgress's total grows as pages are listed.
func (s *FindingSource) EachChunk(ctx context.Context, fn func([]iamprune.Finding) error) ([]iamprune.Warning, error) {
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return nil, err
	}
	var (
		prog     progress
		warnings []iamprune.Warning
	)
	err = s.eachPage(ctx, arn, func(sums []types.FindingSummaryV2) error {
		for len(sums) > 0 {
			n := min(len(sums), streamChunk)
			findings, ws, err := s.readFindings(ctx, arn, sums[:n], &prog)
			if err != nil {
				return err
			}
			warnings = append(warnings, ws...)
			if len(findings) > 0 {
				if err := fn(findings); err != nil {
					return err
				}
			}
			sums = sums[n:]
		}
		return nil
	})
	return warnings, err
}

// Keep remembers f for Finding, as Findings remembers every finding it
// reads: a streamed run keeps only those apply will re-check.
func (s *FindingSource) Keep(f iamprune.Finding) { s.remember(f) }

// readFindings reads the findings of sums, in their order: with UseIAM
// from IAM's last use where it can say, else with GetFindingV2.
func (s *FindingSource) readFindings(ctx context.Context, arn string, sums []types.FindingSummaryV2, prog *progress) ([]iamprune.Finding, []iamprune.Warning, error) {
	known, err := s.fromIAMAll(ctx, arn, sums)
	if err != nil {
		return nil, nil, err
	}
	var toRead []int
	for i := range sums {
		if known[i] == nil {
			toRead = append(toRead, i)
		}
	}
	outs, err := s.getFindings(ctx, arn, sums, toRead, prog)
	if err != nil {
		return nil, nil, err
	}
	var (
		findings []iamprune.Finding
		warnings []iamprune.Warning
	)
	for i := range sums {
		if known[i] != nil {
			findings = append(findings, *known[i])
			continue
		}
		f, ws, ok := convertFinding(arn, outs[i])
		warnings = append(warnings, ws...)
		if ok {
			findings = append(findings, f)
		}
	}
	return findings, warnings, nil
}

// progress counts the finding details read in one listing, for OnProgress.
type progress struct {
	mu          sync.Mutex
	done, total int
}

// getFindings reads the findings of sums at the indexes idx, concurrently.
func (s *FindingSource) getFindings(ctx context.Context, arn string, sums []types.FindingSummaryV2, idx []int, prog *progress) ([]*accessanalyzer.GetFindingV2Output, error) {
	outs := make([]*accessanalyzer.GetFindingV2Output, len(sums))
	s.progress(prog, len(idx), false)
	err := forEach(ctx, len(idx), s.opts.workers, func(ctx context.Context, j int) error {
		i := idx[j]
		out, err := s.getFinding(ctx, arn, deref(sums[i].Id))
		if err != nil {
			return err
		}
		outs[i] = out
		s.progress(prog, 0, true)
		return nil
	})
	return outs, err
}

// Finding returns one finding as this run knows it: from the cache when
// Findings read it moments ago (or a stream kept it), else read now with every page of details
// (a saved plan being applied). A finding that no longer exists is an
// ENOTFOUND *iamprune.Error.
func (s *FindingSource) Finding(ctx context.Context, id string) (*iamprune.Finding, error) {
	s.mu.Lock()
	f, ok := s.cache[id]
	s.mu.Unlock()
	if ok {
		c := *f
		return &c, nil
	}
	arn, err := s.AnalyzerARN(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.getFinding(ctx, arn, id)
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "accessanalyzer: finding %s no longer exists in %s", id, arn)
	}
	if err != nil {
		return nil, err
	}
	conv, ws, ok := convertFinding(arn, out)
	if !ok {
		msg := "unusable"
		if len(ws) > 0 {
			msg = ws[0].Message
		}
		return nil, fmt.Errorf("accessanalyzer: finding %s: %s", id, msg)
	}
	s.remember(conv)
	return &conv, nil
}

func (s *FindingSource) remember(f iamprune.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*iamprune.Finding{}
	}
	s.cache[f.ID] = &f
}

// progress tells OnProgress of more findings to read (more) or of one
// read (step).
func (s *FindingSource) progress(p *progress, more int, step bool) {
	if s.OnProgress == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += more
	if step {
		p.done++
	}
	s.OnProgress(p.done, p.total)
}

// listSummaries lists the ACTIVE findings, without those lacking an id.
func (s *FindingSource) listSummaries(ctx context.Context, arn string) ([]types.FindingSummaryV2, error) {
	var sums []types.FindingSummaryV2
	err := s.eachPage(ctx, arn, func(page []types.FindingSummaryV2) error {
		sums = append(sums, page...)
		return nil
	})
	return sums, err
}

// eachPage lists the ACTIVE findings of the scope a ListFindingsV2 page
// at a time, without those lacking an id, and hands each page to fn.
func (s *FindingSource) eachPage(ctx context.Context, arn string, fn func([]types.FindingSummaryV2) error) error {
	in := s.listInput(arn, s.scope.Account)
	if s.scope.PageSize > 0 {
		page, err := s.listPage(ctx, in)
		if err != nil {
			return err
		}
		return fn(page)
	}
	p := accessanalyzer.NewListFindingsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("accessanalyzer: cannot list findings of %s: %w", arn, err)
		}
		if err := fn(slices.DeleteFunc(page.Findings, func(f types.FindingSummaryV2) bool { return f.Id == nil })); err != nil {
			return err
		}
	}
	return nil
}

// getFinding reads one finding with every page of its details merged into
// the first page's output.
func (s *FindingSource) getFinding(ctx context.Context, arn, id string) (*accessanalyzer.GetFindingV2Output, error) {
	var merged *accessanalyzer.GetFindingV2Output
	p := accessanalyzer.NewGetFindingV2Paginator(s.client, &accessanalyzer.GetFindingV2Input{
		AnalyzerArn: aws.String(arn),
		Id:          aws.String(id),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("accessanalyzer: cannot get finding %s of %s: %w", id, arn, err)
		}
		if merged == nil {
			merged = page
			continue
		}
		merged.FindingDetails = append(merged.FindingDetails, page.FindingDetails...)
	}
	merged.NextToken = nil
	if merged.Id == nil {
		merged.Id = aws.String(id)
	}
	return merged, nil
}
