// Package config reads iamprune's YAML configuration file.
//
// A file only needs the keys it changes: it is laid over
// iamprune.DefaultConfig, and a rule given partially keeps the defaults for
// its other fields. Unknown keys, wrong types and invalid values are errors
// that name the file, the line and the key. Every key, with its default:
//
//	analyzer: auto          # "auto" (the account's active unused-access analyzer) or an analyzer ARN
//	source: analyzer        # where findings come from: analyzer, or iam (IAM's own last-used data)
//	tracking_period_days: 90  # source iam: the unused-access window
//	exceptions: ""          # exceptions file: a path or s3://bucket/key; *.txt = one ARN per line, else YAML
//	rules:                  # per finding type; ages are whole days since last use (or creation)
//	  UnusedIAMUserAccessKey: {notify_after_days: 30, remediate_after_days: 90,  action: deactivate-access-key} # or delete-access-key
//	  UnusedIAMUserPassword:  {notify_after_days: 30, remediate_after_days: 90,  action: delete-login-profile}
//	  UnusedIAMRole:          {notify_after_days: 30, remediate_after_days: 120, action: quarantine-role}
//	  UnusedPermission:       {notify_after_days: 30, remediate_after_days: 120, action: deny-unused-services}
//	protected: []           # ARN globs never touched, on top of the built-in protections
//	limits:
//	  max_actions_per_run: 25
//	holds:
//	  days: 30              # rollback holds a rolled-back item this long (rollback --hold-days); 0: no hold
//	notifications:          # notices to owners; Reference shows each channel type
//	  channels: []          # destinations: {name, type: sns|slack|webhook|email, ...}
//	  owner_tags: [owner, team, contact]  # principal tags naming the owner, first set wins
//	  routes: []            # {owner: glob, channels: [names]}; the first match wins
//	  default: []           # channels for everything else, and for run errors
//	  exception_request_url: ""
//	  remind_days_before: [14, 3]   # reminders, in days before remediate_on
//	  min_interval: 20h     # nothing unchanged is sent again sooner
//	  require_prior_notice: true    # remediate only items noticed notice_days before
//	  notice_days: 7
//	  templates_dir: ""     # overrides of the built-in message templates
//
// action: notify-only is valid for every rule. Reference holds the same list
// as a commented YAML file.
//
// It imports only the root and internal packages; app and cmd import it.
package config

import (
	_ "embed"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/yamlnode"
)

// Reference is a commented configuration file that documents every key and
// sets each to its default.
//
//go:embed reference.yaml
var Reference string

// Load reads and parses the configuration file at path.
func Load(path string) (iamprune.Config, error) {
	data, err := yamlnode.ReadFile(path, "config", "config file")
	if err != nil {
		return iamprune.Config{}, err
	}
	return Parse(data, path)
}
