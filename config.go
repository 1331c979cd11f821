package iamprune

import "fmt"

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

// Config is the YAML configuration (design.md). Every key has a default,
// given by DefaultConfig.
type Config struct {
	// Analyzer is "auto" or an analyzer ARN.
	Analyzer string `yaml:"analyzer" json:"analyzer"`
	// Exceptions is a path or s3:// URL; *.txt is one ARN per line, else YAML.
	Exceptions string               `yaml:"exceptions" json:"exceptions"`
	Rules      map[FindingType]Rule `yaml:"rules" json:"rules"`
	Protected  []string             `yaml:"protected" json:"protected"`
	Limits     Limits               `yaml:"limits" json:"limits"`
	// ExceptionPolicy bounds what exception files may contain
	// (config: exceptions as a mapping).
	ExceptionPolicy ExceptionPolicy `yaml:"-" json:"exception_policy"`
	// Notifications is the `notifications:` block.
	Notifications Notifications `yaml:"-" json:"notifications"`
	// Accounts, when set, is the only accounts iamprune may change.
	Accounts []string `yaml:"accounts" json:"accounts"`
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

// AnalyzerAuto selects the account's active unused-access analyzer.
const AnalyzerAuto = "auto"

// DefaultConfig returns the configuration used when no file is given, and the
// base every file is merged onto.
func DefaultConfig() Config {
	return Config{
		Analyzer: AnalyzerAuto,
		Rules: map[FindingType]Rule{
			UnusedIAMUserAccessKey: {NotifyAfterDays: 30, RemediateAfterDays: 90, Action: KindDeactivateAccessKey},
			UnusedIAMUserPassword:  {NotifyAfterDays: 30, RemediateAfterDays: 90, Action: KindDeleteLoginProfile},
			UnusedIAMRole:          {NotifyAfterDays: 30, RemediateAfterDays: 120, Action: KindQuarantineRole},
			UnusedPermission:       {NotifyAfterDays: 30, RemediateAfterDays: 120, Action: KindDenyUnusedServices},
		},
		Limits:          Limits{MaxActionsPerRun: 25},
		ExceptionPolicy: ExceptionPolicy{MaxDays: 365, MaxArchiveRules: 100},
		Notifications:   DefaultNotifications(),
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
	if c.ExceptionPolicy.MaxDays < 1 {
		return Errorf(EINVALID, "exceptions.max_days: must be >= 1, got %d", c.ExceptionPolicy.MaxDays)
	}
	if c.ExceptionPolicy.MaxArchiveRules < 1 {
		return Errorf(EINVALID, "exceptions.max_archive_rules: must be >= 1, got %d", c.ExceptionPolicy.MaxArchiveRules)
	}
	if c.Limits.MaxActionsPerRun < 0 {
		return Errorf(EINVALID, "limits.max_actions_per_run: must be >= 0, got %d", c.Limits.MaxActionsPerRun)
	}
	if c.Analyzer != AnalyzerAuto {
		if p, ok := ParseARN(c.Analyzer); !ok || p.Service != "access-analyzer" {
			return Errorf(EINVALID, "analyzer: %q is neither \"auto\" nor an analyzer ARN (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME)", c.Analyzer)
		}
	}
	return c.Notifications.Validate()
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
