package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
)

// LoadAWS loads the AWS configuration of a run, with the counter of its
// calls. The CLI wires it to awsapi.LoadConfig with its profile, region,
// logger and retry policy; tests wire it to an emulator.
type LoadAWS func(context.Context) (aws.Config, *awsapi.Counter, error)

// Session holds the clients and caches of one run against AWS: the
// credentials, the caller, the analyzer's findings, the facts of the home
// account and, made on first use, of every member account reached through
// the assumed role.
type Session struct {
	AWS     aws.Config
	Counter *awsapi.Counter
	// Findings reads the analyzer's findings.
	Findings *awsapi.FindingSource
	// Facts reads the account of the credentials; OrgFacts reads every
	// account findings name, the home one through Facts.
	Facts *awsapi.Facts
	org   *awsapi.OrgFacts
	// recommender asks Access Analyzer for its recommendations, once per
	// finding.
	recommender *awsapi.Recommender
}

// OpenSession loads the AWS configuration and opens a session reading
// analyzer ("auto" or an ARN).
func OpenSession(ctx context.Context, load LoadAWS, analyzer string) (*Session, error) {
	cfg, counter, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return NewSession(cfg, counter, analyzer), nil
}

// NewSession opens a session on a loaded AWS configuration.
func NewSession(cfg aws.Config, counter *awsapi.Counter, analyzer string) *Session {
	return &Session{AWS: cfg, Counter: counter, Findings: awsapi.NewFindingSource(cfg, analyzer), Facts: awsapi.NewFacts(cfg)}
}

// Caller returns the identity the session runs as, and its account.
func (s *Session) Caller(ctx context.Context) (arn, account string, err error) {
	return s.Facts.Caller(ctx)
}

// OrgFacts returns the session's organisation-wide fact source, made on
// first use: member accounts are read through the role cfg.CrossAccount
// names, cfg.AWS.MaxConcurrentAccounts at a time.
func (s *Session) OrgFacts(ctx context.Context, cfg iamprune.Config) (*awsapi.OrgFacts, error) {
	if s.org != nil {
		return s.org, nil
	}
	caller, _, err := s.Facts.Caller(ctx)
	if err != nil {
		return nil, err
	}
	s.org = awsapi.NewOrgFacts(awsapi.NewAccounts(s.AWS, caller, cfg.CrossAccount), awsapi.WithConcurrentAccounts(cfg.AWS.MaxConcurrentAccounts))
	s.org.UseHome(s.Facts)
	return s.org, nil
}

// Org returns the organisation-wide fact source if OrgFacts made one, else
// nil.
func (s *Session) Org() *awsapi.OrgFacts { return s.org }

// UseCache makes the session read facts through an earlier session's
// caches (the Lambda function's per-invocation fact cache); org may be nil.
func (s *Session) UseCache(facts *awsapi.Facts, org *awsapi.OrgFacts) {
	s.Facts, s.org = facts, org
}
