package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/awsapi"
	"github.com/iamprune/iamprune/credreport"
	"github.com/iamprune/iamprune/snapshot"
)

// CaptureOptions say what 'snapshot capture' reads and where it writes.
type CaptureOptions struct {
	// Out is the folder to write; it is created.
	Out string
	// LastAccessed also runs a service-last-accessed job per principal
	// (slow: one job each).
	LastAccessed bool
	// Analyzer is "auto" or an analyzer ARN, as for plan.
	Analyzer string
	// CrossAccount reaches the member accounts of an organisation analyzer.
	CrossAccount iamprune.CrossAccount
	LoadAWS      LoadAWS
	// Now gives captured_at.
	Now func() time.Time
	// Progress, when set, is told what is being read.
	Progress func(msg string)
	// Poll is the first wait between polls of IAM's jobs; 0 means 1s.
	Poll   time.Duration
	Logger *slog.Logger
}

// Captured says what Capture wrote.
type Captured struct {
	Account string
	// Analyzer is the analyzer's ARN, "" when the region has none.
	Analyzer string
	Findings int
	// Members are the member accounts written, sorted; Skipped the ones
	// that could not be read, with the reason.
	Members []string
	Skipped map[string]string
}

// String is a one-line summary of the capture.
func (c *Captured) String() string {
	line := fmt.Sprintf("captured account %s", c.Account)
	if c.Analyzer != "" {
		line += fmt.Sprintf(": %d findings of %s", c.Findings, c.Analyzer)
	}
	if len(c.Members) > 0 {
		line += "; member accounts " + strings.Join(c.Members, ", ")
	}
	return line
}

// Err reports the member accounts that could not be captured, or nil.
func (c *Captured) Err() error {
	if len(c.Skipped) == 0 {
		return nil
	}
	return fmt.Errorf("snapshot: %d member accounts could not be captured: %s", len(c.Skipped), strings.Join(slices.Sorted(maps.Keys(c.Skipped)), ", "))
}

// Capture reads the account of the credentials (and, for an organisation
// analyzer, every member account its findings name, through the assumed
// role) and writes it as a snapshot folder.
func Capture(ctx context.Context, o CaptureOptions) (*Captured, error) {
	if o.Out == "" {
		return nil, iamprune.Errorf(iamprune.EINVALID, "--out DIR is required")
	}
	cfg, _, err := o.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	c := &capturer{o: o, log: logger(o.Logger)}
	home, caller, err := c.account(ctx, cfg)
	if err != nil {
		return nil, err
	}
	out := &Captured{Account: home.Meta.AccountID}
	c.progress("reading the unused-access analyzer's findings")
	an, err := awsapi.CaptureAnalyzer(ctx, cfg, o.Analyzer, awsapi.WithLogger(c.log))
	if err != nil {
		return nil, err
	}
	if an == nil {
		c.log.Info("no active unused-access analyzer: the snapshot has no findings.json", "region", cfg.Region)
	} else {
		home.Analyzer = convertAnalyzer(an)
		home.FindingList, home.HasFindings = convertFindings(an.Findings), true
		out.Analyzer, out.Findings = home.Analyzer.Arn, len(home.FindingList)
		if home.Analyzer.Type == "ORGANIZATION_UNUSED_ACCESS" {
			c.members(ctx, cfg, caller, home, out)
		}
	}
	if err := snapshot.Write(o.Out, home); err != nil {
		return nil, err
	}
	return out, nil
}

type capturer struct {
	o   CaptureOptions
	log *slog.Logger
	mu  sync.Mutex
}

func (c *capturer) progress(format string, args ...any) {
	if c.o.Progress != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.o.Progress(fmt.Sprintf(format, args...))
	}
}

// members captures every member account the findings name, through the
// role of o.CrossAccount; one that cannot be read is skipped with a
// warning, as plan lists it unreachable.
func (c *capturer) members(ctx context.Context, cfg aws.Config, caller string, home *snapshot.Snapshot, out *Captured) {
	accounts := awsapi.NewAccounts(cfg, caller, c.o.CrossAccount)
	var ids []string
	for _, f := range home.FindingList {
		if a := f.ResourceOwnerAccount; a != "" && a != home.Meta.AccountID && !slices.Contains(ids, a) {
			ids = append(ids, a)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		m, err := c.member(ctx, accounts, id)
		if err != nil {
			c.log.Warn("member account not captured", "account", id, "reason", err.Error())
			if out.Skipped == nil {
				out.Skipped = map[string]string{}
			}
			out.Skipped[id] = err.Error()
			continue
		}
		home.Members = append(home.Members, m)
		out.Members = append(out.Members, id)
	}
}

func (c *capturer) member(ctx context.Context, accounts *awsapi.Accounts, id string) (*snapshot.Snapshot, error) {
	if c.o.CrossAccount.RoleName == "" {
		return nil, fmt.Errorf("no cross-account role is configured (accounts.role_name)")
	}
	mcfg, err := accounts.Config(ctx, id)
	if err != nil {
		return nil, err
	}
	m, _, err := c.account(ctx, mcfg)
	if err != nil {
		return nil, err
	}
	if m.Meta.AccountID != id {
		return nil, fmt.Errorf("role %s acts in account %s, not %s", accounts.RoleARN(id), m.Meta.AccountID, id)
	}
	return m, nil
}

// account reads one account's IAM: authorization details, keys, login
// profiles, the credential report and, if asked, last-accessed data.
func (c *capturer) account(ctx context.Context, cfg aws.Config) (*snapshot.Snapshot, string, error) {
	cp := awsapi.NewCapturer(cfg, awsapi.WithLogger(c.log))
	if c.o.Poll > 0 {
		cp.Poll = c.o.Poll
	}
	caller, account, err := cp.Identity(ctx)
	if err != nil {
		return nil, "", err
	}
	now := time.Now
	if c.o.Now != nil {
		now = c.o.Now
	}
	s := &snapshot.Snapshot{Name: account, HasAccessKeys: true, HasLoginProfiles: true}
	s.Meta = snapshot.Meta{AccountID: account, Partition: "aws", Region: cp.Region(), CapturedAt: now().UTC().Truncate(time.Second), CallerARN: caller}
	if p, ok := iamprune.SplitARN(caller); ok {
		s.Meta.Partition = p.Partition
	}
	c.progress("account %s: reading authorization details", account)
	if err := c.iamFiles(ctx, cp, s); err != nil {
		return nil, "", fmt.Errorf("account %s: %w", account, err)
	}
	if c.o.LastAccessed {
		if s.LastAccessed, err = c.lastAccessed(ctx, cp, s); err != nil {
			return nil, "", fmt.Errorf("account %s: %w", account, err)
		}
	}
	return s, caller, nil
}

func (c *capturer) iamFiles(ctx context.Context, cp *awsapi.Capturer, s *snapshot.Snapshot) error {
	auth, err := cp.AuthDetails(ctx)
	if err != nil {
		return err
	}
	if s.Auth, err = convertAuth(auth); err != nil {
		return err
	}
	var users []string
	for _, u := range s.Auth.UserDetailList {
		users = append(users, u.UserName)
	}
	c.progress("account %s: reading the keys and passwords of %d users", s.Meta.AccountID, len(users))
	keys, err := cp.AccessKeys(ctx, users)
	if err != nil {
		return err
	}
	s.AccessKeys = convertKeys(keys)
	profiles, err := cp.LoginProfiles(ctx, users)
	if err != nil {
		return err
	}
	s.LoginProfiles = convertProfiles(profiles)
	c.progress("account %s: generating the credential report", s.Meta.AccountID)
	csv, err := cp.CredentialReport(ctx)
	if err != nil {
		return err
	}
	rep, err := credreport.Parse(csv, "the credential report of account "+s.Meta.AccountID)
	if err != nil {
		return err
	}
	s.CredentialReport = rep
	return nil
}

// lastAccessed runs one service-last-accessed job per user and role, at
// most Workers at a time. A principal whose job cannot be run is left out
// with a warning: no data is never read as unused.
func (c *capturer) lastAccessed(ctx context.Context, cp *awsapi.Capturer, s *snapshot.Snapshot) (map[string]*snapshot.LastAccessedEntry, error) {
	var arns []string
	for _, u := range s.Auth.UserDetailList {
		arns = append(arns, u.Arn)
	}
	for _, r := range s.Auth.RoleDetailList {
		arns = append(arns, r.Arn)
	}
	out := make(map[string]*snapshot.LastAccessedEntry, len(arns))
	var mu sync.Mutex
	done := 0
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(cp.Workers(), max(len(arns), 1)) {
		wg.Go(func() {
			for arn := range work {
				e, err := lastAccessedEntry(ctx, cp, arn)
				mu.Lock()
				done++
				if err != nil {
					c.log.Warn("no service last-accessed data", "principal", arn, "reason", err.Error())
				} else {
					out[arn] = e
				}
				n := done
				mu.Unlock()
				c.progress("account %s: service last accessed %d/%d", s.Meta.AccountID, n, len(arns))
			}
		})
	}
	for _, arn := range arns {
		select {
		case work <- arn:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return out, ctx.Err()
}

func lastAccessedEntry(ctx context.Context, cp *awsapi.Capturer, arn string) (*snapshot.LastAccessedEntry, error) {
	raw, err := cp.LastAccessed(ctx, arn)
	if err != nil {
		return nil, err
	}
	var e snapshot.LastAccessedEntry
	if err := viaJSON(raw, &e); err != nil {
		return nil, fmt.Errorf("service last accessed details of %s: %w", arn, err)
	}
	e.Arn = arn
	return &e, nil
}
