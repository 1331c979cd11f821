package iamprune

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Rule says when an item of one finding type is notified and remediated, and how.
type Rule struct {
	NotifyAfterDays    int        `yaml:"notify_after_days" json:"notify_after_days"`
	RemediateAfterDays int        `yaml:"remediate_after_days" json:"remediate_after_days"`
	Action             ActionKind `yaml:"action" json:"action"`
	// DeleteAfterDays (UnusedIAMUserAccessKey only): delete a key iamprune
	// deactivated this many days ago and that stayed unused since. 0 never
	// deletes, except that action delete-access-key implies
	// DefaultDeleteAfterDays.
	DeleteAfterDays int `yaml:"delete_after_days" json:"delete_after_days,omitempty"`
}

// DefaultDeleteAfterDays is the grace period between deactivating and
// deleting a key when the rule's action is delete-access-key.
const DefaultDeleteAfterDays = 30

// KeyDeleteAfter returns after how many days a key iamprune deactivated is
// deleted, or 0 when keys are never deleted.
func (r Rule) KeyDeleteAfter() int {
	if r.DeleteAfterDays == 0 && r.Action == KindDeleteAccessKey {
		return DefaultDeleteAfterDays
	}
	return r.DeleteAfterDays
}

// Limits caps what one run may do.
type Limits struct {
	MaxActionsPerRun int `yaml:"max_actions_per_run" json:"max_actions_per_run"`
}

// Report is what the sweep does with the HTML report (config: report).
type Report struct {
	// Publish, when set (s3://bucket/prefix/), makes every sweep publish
	// the HTML report there, with a dated copy; "" publishes nothing.
	Publish string `yaml:"publish" json:"publish"`
}

// validate checks that Publish is an s3:// prefix with a bucket.
func (r Report) validate() error {
	if r.Publish == "" {
		return nil
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.Publish, "s3://"), "/")
	if !strings.HasPrefix(r.Publish, "s3://") || bucket == "" || strings.ContainsAny(bucket, " \t\n") {
		return Errorf(EINVALID, "report.publish: %q is not an S3 prefix (s3://bucket/prefix/)", r.Publish)
	}
	return nil
}

// Holds says how long rollback keeps a rolled-back item from being
// remediated again.
type Holds struct {
	// Days is the default of rollback --hold-days; 0 sets no hold.
	Days int `yaml:"days" json:"days"`
}

// AWS tunes how iamprune calls AWS (config: aws): one retry policy and one
// request rate per service for every client of a process.
type AWS struct {
	// MaxRetries is how often a call that failed with throttling, a
	// server error or a dropped connection is tried again (backoff with
	// jitter, up to 20 seconds between tries).
	MaxRetries int `yaml:"max_retries" json:"max_retries"`
	// MaxRequestsPerSecond caps the requests a second to each service
	// (IAM, Access Analyzer, STS, ...); throttling lowers the rate
	// actually used, which recovers slowly. 0 means no cap.
	MaxRequestsPerSecond float64 `yaml:"max_requests_per_second" json:"max_requests_per_second"`
	// MaxConcurrentAccounts bounds the accounts of an organisation read at
	// once; each is paced by its own limiters, as AWS limits each account
	// on its own.
	MaxConcurrentAccounts int `yaml:"max_concurrent_accounts" json:"max_concurrent_accounts"`
	// RetryBaseDelay and MaxBackoff bound the backoff: before retry n the
	// wait is random in [0, min(MaxBackoff, RetryBaseDelay*2^n)].
	RetryBaseDelay time.Duration `yaml:"retry_base_delay" json:"retry_base_delay"`
	MaxBackoff     time.Duration `yaml:"max_backoff" json:"max_backoff"`
}

// Defaults of the aws block (awsapi.DefaultRetryPolicy has the same).
const (
	DefaultAWSMaxRetries            = 12
	DefaultAWSMaxRequestsPerSecond  = 50
	DefaultAWSMaxConcurrentAccounts = 8
	DefaultAWSRetryBaseDelay        = 200 * time.Millisecond
	DefaultAWSMaxBackoff            = 20 * time.Second
)

// Config is the YAML configuration (config/reference.yaml). Every key has a default,
// given by DefaultConfig.
type Config struct {
	// Analyzer is "auto" or an analyzer ARN.
	Analyzer string `yaml:"analyzer" json:"analyzer"`
	// FindingSource is where findings come from: SourceAnalyzer (Access
	// Analyzer) or SourceIAM (IAM's own last-used data).
	FindingSource string `yaml:"source" json:"source"`
	// TrackingPeriodDays is SourceIAM's window: a principal younger than
	// it is not judged, and what was used within it is not unused.
	TrackingPeriodDays int `yaml:"tracking_period_days" json:"tracking_period_days"`
	// Exceptions is a path or s3:// URL; *.txt is one ARN per line, else YAML.
	Exceptions string               `yaml:"exceptions" json:"exceptions"`
	Rules      map[FindingType]Rule `yaml:"rules" json:"rules"`
	Protected  []string             `yaml:"protected" json:"protected"`
	Limits     Limits               `yaml:"limits" json:"limits"`
	Holds      Holds                `yaml:"holds" json:"holds"`
	// Report is what the sweep does with the HTML report (config: report).
	Report Report `yaml:"report" json:"report"`
	// AWS is the retry and rate policy of AWS calls.
	AWS AWS `yaml:"aws" json:"aws"`
	// ExceptionPolicy bounds what exception files may contain
	// (config: exceptions as a mapping).
	ExceptionPolicy ExceptionPolicy `yaml:"-" json:"exception_policy"`
	// Notifications is the `notifications:` block.
	Notifications Notifications `yaml:"-" json:"notifications"`
	// Accounts, when set, is the only accounts iamprune may change
	// (config: accounts as a list, or accounts.allow).
	Accounts []string `yaml:"accounts" json:"accounts"`
	// CrossAccount says how to act in member accounts of an organisation
	// (config: accounts as a mapping).
	CrossAccount CrossAccount `yaml:"-" json:"cross_account"`
	// Propose is where propose-policy opens its pull requests.
	Propose Propose `yaml:"-" json:"propose"`
	// Recommendations: compare each refinement with Access Analyzer's
	// recommendation when reading findings from the live analyzer.
	Recommendations bool `yaml:"-" json:"recommendations"`
	// Sweep is how a sweep fans out over an SQS queue (config: sweep).
	Sweep SweepSettings `yaml:"-" json:"sweep"`
	// Source names the file the config came from, for messages.
	Source string `yaml:"-" json:"-"`
}

// ExceptionPolicy is what `exceptions check` enforces and `exceptions sync`
// respects.
type ExceptionPolicy struct {
	// MaxDays is how far ahead an exception may expire.
	MaxDays int `json:"max_days"`
	// MaxArchiveRules is the analyzer's archive-rule quota (100 by default,
	// raisable through AWS support).
	MaxArchiveRules int `json:"max_archive_rules"`
}

// CrossAccount is how iamprune reaches member accounts: findings of an
// organisation analyzer name principals in other accounts, whose IAM is read
// and changed through a role assumed there.
type CrossAccount struct {
	// RoleName is the role assumed in every member account
	// (arn:PARTITION:iam::ACCOUNT:role/RoleName); "" acts only in the
	// account of the credentials.
	RoleName string `json:"role_name,omitempty"`
	// ExternalID is passed to sts:AssumeRole when set.
	ExternalID string `json:"external_id,omitempty"`
	// SessionName names the assumed-role sessions (CloudTrail shows it).
	SessionName string `json:"session_name"`
}

// DefaultSessionName is the assumed-role session name.
const DefaultSessionName = "iamprune"

// Propose configures propose-policy's pull requests.
type Propose struct {
	// Repo is the infrastructure repository: a git URL or a local path.
	Repo string `json:"repo,omitempty"`
	// Base is the branch pull requests target.
	Base string `json:"base"`
	// Mode is "github" (push and open a pull request) or "local" (only
	// create the branch, in Repo when it is a path).
	Mode string `json:"mode"`
	// GitHubRepo is OWNER/NAME on GitHub; "" derives it from Repo's URL.
	GitHubRepo string `json:"github_repo,omitempty"`
	// GitHubAPI is the GitHub REST API base URL (GitHub Enterprise).
	GitHubAPI string `json:"github_api"`
	// TokenEnv names the environment variable holding the GitHub token.
	TokenEnv string `json:"token_env"`
	// Files maps principals and policies to the files that define them;
	// the first match wins. The tag iamprune:source=PATH#POINTER on the
	// principal takes precedence.
	Files []ProposeFile `json:"files,omitempty"`
	// AuthorName and AuthorEmail sign the commits.
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
}

// Propose modes.
const (
	ProposeGitHub = "github"
	ProposeLocal  = "local"
)

// ProposeFile maps principals (and optionally policies) to a policy file.
type ProposeFile struct {
	// Principal is an ARN glob of the principals the file defines.
	Principal string `json:"principal"`
	// Policy, when set, is a glob of the policy names or ARNs it holds.
	Policy string `json:"policy,omitempty"`
	// Path is the file, relative to the repository root: a JSON policy
	// document, a CloudFormation template (JSON or YAML) or Terraform (.tf).
	Path string `json:"path"`
	// Pointer locates the policy in the file: a JSON pointer or a
	// CloudFormation logical id, or a Terraform block address
	// (data.aws_iam_policy_document.NAME or aws_iam_policy.NAME).
	Pointer string `json:"pointer,omitempty"`
}

// SourceTag is the principal tag naming a policy's source file:
// iamprune:source=PATH#POINTER.
const SourceTag = "iamprune:source"

// AnalyzerAuto selects the account's active unused-access analyzer.
const AnalyzerAuto = "auto"

// Finding sources (config: source).
const (
	SourceAnalyzer = "analyzer"
	SourceIAM      = "iam"
)

// DefaultTrackingPeriodDays is the analyzer's default unused-access age,
// and SourceIAM's default window.
const DefaultTrackingPeriodDays = 90

// ValidSource reports whether s names a finding source.
func ValidSource(s string) bool { return s == SourceAnalyzer || s == SourceIAM }

// DefaultConfig returns the configuration used when no file is given, and the
// base every file is merged onto.
func DefaultConfig() Config {
	return Config{
		Analyzer:           AnalyzerAuto,
		FindingSource:      SourceAnalyzer,
		TrackingPeriodDays: DefaultTrackingPeriodDays,
		Rules: map[FindingType]Rule{
			UnusedIAMUserAccessKey: {NotifyAfterDays: 30, RemediateAfterDays: 90, Action: KindDeactivateAccessKey},
			UnusedIAMUserPassword:  {NotifyAfterDays: 30, RemediateAfterDays: 90, Action: KindDeleteLoginProfile},
			UnusedIAMRole:          {NotifyAfterDays: 30, RemediateAfterDays: 120, Action: KindQuarantineRole},
			UnusedPermission:       {NotifyAfterDays: 30, RemediateAfterDays: 120, Action: KindDenyUnusedServices},
		},
		Limits: Limits{MaxActionsPerRun: 25},
		Holds:  Holds{Days: DefaultHoldDays},
		AWS: AWS{MaxRetries: DefaultAWSMaxRetries, MaxRequestsPerSecond: DefaultAWSMaxRequestsPerSecond,
			MaxConcurrentAccounts: DefaultAWSMaxConcurrentAccounts,
			RetryBaseDelay:        DefaultAWSRetryBaseDelay, MaxBackoff: DefaultAWSMaxBackoff},
		ExceptionPolicy: ExceptionPolicy{MaxDays: 365, MaxArchiveRules: 100},
		Notifications:   DefaultNotifications(),
		CrossAccount:    CrossAccount{SessionName: DefaultSessionName},
		Propose: Propose{
			Base: "main", Mode: ProposeGitHub, GitHubAPI: "https://api.github.com/", TokenEnv: "GITHUB_TOKEN",
			AuthorName: "iamprune", AuthorEmail: "iamprune@users.noreply.github.com",
		},
		Recommendations: true,
		Sweep:           SweepSettings{PageSize: DefaultSweepPageSize},
	}
}

// Rule returns the rule for t, falling back to the default.
func (c Config) Rule(t FindingType) Rule {
	if r, ok := c.Rules[t]; ok {
		return r
	}
	return DefaultConfig().Rules[t]
}

// Validate checks the semantic constraints that YAML decoding cannot.
// Errors name the offending key.
func (c Config) Validate() error {
	for t, r := range c.Rules {
		if err := c.validateRule(t, r); err != nil {
			return err
		}
	}
	for i, g := range c.Protected {
		if g == "" {
			return Errorf(EINVALID, "protected[%d]: empty pattern", i)
		}
	}
	for i, a := range c.Accounts {
		if !validAccount(a) {
			return Errorf(EINVALID, "accounts[%d]: %q is not a 12-digit AWS account id", i, a)
		}
	}
	if err := c.CrossAccount.validate(); err != nil {
		return err
	}
	if err := c.Propose.validate(); err != nil {
		return err
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if err := c.AWS.validate(); err != nil {
		return err
	}
	if err := c.Sweep.validate(); err != nil {
		return err
	}
	if err := c.Report.validate(); err != nil {
		return err
	}
	if !ValidSource(c.FindingSource) {
		return Errorf(EINVALID, "source: %q is neither \"analyzer\" nor \"iam\"", c.FindingSource)
	}
	if c.TrackingPeriodDays < 1 || c.TrackingPeriodDays > 365 {
		return Errorf(EINVALID, "tracking_period_days: must be between 1 and 365, got %d", c.TrackingPeriodDays)
	}
	if c.Analyzer != AnalyzerAuto {
		if p, ok := ParseARN(c.Analyzer); !ok || p.Service != "access-analyzer" {
			return Errorf(EINVALID, "analyzer: %q is neither \"auto\" nor an analyzer ARN (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME)", c.Analyzer)
		}
	}
	return c.Notifications.Validate()
}

// validateRule checks the rule for finding type t.
func (c Config) validateRule(t FindingType, r Rule) error {
	key := "rules." + string(t)
	if !t.Valid() {
		return Errorf(EINVALID, "%s: unknown finding type %q (want one of %v)", key, t, FindingTypes)
	}
	if r.NotifyAfterDays < 0 {
		return Errorf(EINVALID, "%s.notify_after_days: must be >= 0, got %d", key, r.NotifyAfterDays)
	}
	if r.RemediateAfterDays < 1 {
		return Errorf(EINVALID, "%s.remediate_after_days: must be >= 1, got %d", key, r.RemediateAfterDays)
	}
	if r.NotifyAfterDays > r.RemediateAfterDays {
		return Errorf(EINVALID, "%s: notify_after_days (%d) must not exceed remediate_after_days (%d)", key, r.NotifyAfterDays, r.RemediateAfterDays)
	}
	if r.DeleteAfterDays < 0 {
		return Errorf(EINVALID, "%s.delete_after_days: must be >= 0, got %d", key, r.DeleteAfterDays)
	}
	if r.DeleteAfterDays != 0 && t != UnusedIAMUserAccessKey {
		return Errorf(EINVALID, "%s.delete_after_days: only applies to UnusedIAMUserAccessKey", key)
	}
	if !validRuleAction(t, r.Action) {
		return Errorf(EINVALID, "%s.action: %q is not valid for %s (want one of %v)", key, r.Action, t, append(RemediationsFor(t), KindNotifyOnly))
	}
	if r.Action == KindProposePolicy && c.Propose.Repo == "" {
		return Errorf(EINVALID, "%s.action: propose-policy needs propose.repo, the repository to open pull requests against", key)
	}
	return nil
}

// validateLimits checks the exception policy, the run limits and holds.
func (c Config) validateLimits() error {
	if c.ExceptionPolicy.MaxDays < 1 {
		return Errorf(EINVALID, "exceptions.max_days: must be >= 1, got %d", c.ExceptionPolicy.MaxDays)
	}
	if c.ExceptionPolicy.MaxArchiveRules < 1 {
		return Errorf(EINVALID, "exceptions.max_archive_rules: must be >= 1, got %d", c.ExceptionPolicy.MaxArchiveRules)
	}
	if c.Limits.MaxActionsPerRun < 0 {
		return Errorf(EINVALID, "limits.max_actions_per_run: must be >= 0, got %d", c.Limits.MaxActionsPerRun)
	}
	if c.Holds.Days < 0 {
		return Errorf(EINVALID, "holds.days: must be >= 0, got %d", c.Holds.Days)
	}
	if c.Holds.Days > MaxHoldDays {
		return Errorf(EINVALID, "holds.days: must be at most %d, got %d", MaxHoldDays, c.Holds.Days)
	}
	return nil
}

// validate checks the AWS client settings.
func (a AWS) validate() error {
	if a.MaxRetries < 0 || a.MaxRetries > 100 {
		return Errorf(EINVALID, "aws.max_retries: must be from 0 to 100, got %d", a.MaxRetries)
	}
	if a.RetryBaseDelay <= 0 {
		return Errorf(EINVALID, "aws.retry_base_delay: must be a positive duration such as 200ms, got %s", a.RetryBaseDelay)
	}
	if a.MaxBackoff < a.RetryBaseDelay {
		return Errorf(EINVALID, "aws.max_backoff: must be at least aws.retry_base_delay (%s), got %s", a.RetryBaseDelay, a.MaxBackoff)
	}
	if a.MaxConcurrentAccounts < 1 || a.MaxConcurrentAccounts > 100 {
		return Errorf(EINVALID, "aws.max_concurrent_accounts: must be from 1 to 100, got %d", a.MaxConcurrentAccounts)
	}
	if a.MaxRequestsPerSecond < 0 {
		return Errorf(EINVALID, "aws.max_requests_per_second: must be >= 0 (0: no cap), got %v", a.MaxRequestsPerSecond)
	}
	return nil
}

func validRuleAction(t FindingType, a ActionKind) bool {
	if a == KindNotifyOnly {
		return true
	}
	for _, k := range RemediationsFor(t) {
		if k == a {
			return true
		}
	}
	return false
}

// ProtectedGlobs returns the configured protected globs and, when iamprune
// reaches member accounts through a role, that role in every account: the
// identity it acts as there is never remediated.
func (c Config) ProtectedGlobs() []string {
	if c.CrossAccount.RoleName == "" {
		return c.Protected
	}
	return append(slices.Clone(c.Protected), "arn:*:iam::*:role/"+c.CrossAccount.RoleName)
}

// String renders a rule for messages.
func (r Rule) String() string {
	return fmt.Sprintf("notify after %dd, %s after %dd", r.NotifyAfterDays, r.Action, r.RemediateAfterDays)
}

func validAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (c CrossAccount) validate() error {
	if c.RoleName != "" && !validRoleName(c.RoleName) {
		return Errorf(EINVALID, "accounts.role_name: %q is not a role name (1-64 of A-Za-z0-9+=,.@_-; not an ARN)", c.RoleName)
	}
	if c.ExternalID != "" && (len(c.ExternalID) < 2 || len(c.ExternalID) > 1224) {
		return Errorf(EINVALID, "accounts.external_id: must be 2 to 1224 characters")
	}
	if c.ExternalID != "" && c.RoleName == "" {
		return Errorf(EINVALID, "accounts.external_id: set without accounts.role_name")
	}
	if !validSessionName(c.SessionName) {
		return Errorf(EINVALID, "accounts.session_name: %q is not an STS session name (2-64 of A-Za-z0-9+=,.@_-)", c.SessionName)
	}
	return nil
}

func validSessionName(s string) bool {
	return len(s) >= 2 && validRoleName(s)
}

func validRoleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("+=,.@_-", c):
		default:
			return false
		}
	}
	return true
}

func (p Propose) validate() error {
	if p.Mode != ProposeGitHub && p.Mode != ProposeLocal {
		return Errorf(EINVALID, "propose.mode: %q is not github or local", p.Mode)
	}
	if p.Base == "" {
		return Errorf(EINVALID, "propose.base: must not be empty")
	}
	// The token goes with every push and API call: never in clear text
	// over the network.
	if p.Mode == ProposeGitHub {
		for key, u := range map[string]string{"propose.repo": p.Repo, "propose.github_api": p.GitHubAPI} {
			if plainHTTPRemote(u) {
				return Errorf(EINVALID, "%s: %q: the GitHub token would be sent over plain HTTP; use https (plain http is allowed only to localhost)", key, u)
			}
		}
		if err := CheckEndpoint(p.GitHubAPI); err != nil {
			return Errorf(EINVALID, "propose.github_api: %q %v", p.GitHubAPI, err)
		}
	}
	// A repository URL may be ssh or scp-like, but never at a metadata
	// address.
	if u, err := url.Parse(p.Repo); err == nil && u.Host != "" {
		if err := CheckHost(u.Hostname()); err != nil {
			return Errorf(EINVALID, "propose.repo: %q %v", p.Repo, err)
		}
	}
	if p.AuthorEmail == "" || !strings.Contains(p.AuthorEmail, "@") {
		return Errorf(EINVALID, "propose.author_email: %q is not an e-mail address", p.AuthorEmail)
	}
	for i, f := range p.Files {
		switch {
		case f.Principal == "":
			return Errorf(EINVALID, "propose.files[%d].principal: required (an ARN glob)", i)
		case f.Path == "":
			return Errorf(EINVALID, "propose.files[%d].path: required", i)
		case strings.HasPrefix(f.Path, "/") || strings.Contains(f.Path, ".."):
			return Errorf(EINVALID, "propose.files[%d].path: %q must be relative to the repository root", i, f.Path)
		case !proposableFile(f.Path):
			return Errorf(EINVALID, "propose.files[%d].path: %q is not a policy file iamprune can edit (.json, .template, .yaml, .yml or .tf)", i, f.Path)
		}
	}
	return nil
}

// proposableFile reports whether propose-policy can edit a file of this name.
func proposableFile(path string) bool {
	for _, ext := range []string{".json", ".template", ".yaml", ".yml", ".tf"} {
		if strings.HasSuffix(strings.ToLower(path), ext) {
			return true
		}
	}
	return false
}

// plainHTTPRemote reports whether u is an http:// URL to a host other than
// the loopback.
func plainHTTPRemote(u string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(u), "http://")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
