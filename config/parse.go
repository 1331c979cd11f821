package config

import (
	"slices"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

var (
	topKeys    = []string{"analyzer", "exceptions", "rules", "protected", "limits", "holds", "accounts", "notifications", "propose", "recommendations", "aws", "source", "tracking_period_days", "sweep", "report"}
	ruleKeys   = []string{"notify_after_days", "remediate_after_days", "action", "delete_after_days"}
	limitKeys  = []string{"max_actions_per_run"}
	holdKeys   = []string{"days"}
	reportKeys = []string{"publish"}
	awsKeys    = []string{"max_retries", "max_requests_per_second", "max_concurrent_accounts", "retry_base_delay", "max_backoff"}
	excKeys    = []string{"path", "max_days", "max_archive_rules"}
	sweepKeys  = []string{"queue_url", "page_size"}
)

// Parse parses a configuration file's content laid over the defaults; name
// is the file name used in messages and recorded as Config.Source.
func Parse(data []byte, name string) (iamprune.Config, error) {
	root, err := yamlnode.Parse(data, name)
	if err != nil {
		return iamprune.Config{}, err
	}
	p := &parser{Problems: yamlnode.Problems{Name: name}, lines: map[string]int{}}
	cfg := iamprune.DefaultConfig()
	cfg.Source = name
	if root != nil {
		p.top(root, &cfg)
	}
	if p.Len() == 0 {
		p.validate(cfg)
	}
	if err := p.Err(); err != nil {
		return iamprune.Config{}, err
	}
	// Documented as sorted, largest first; sorted only now so that the
	// messages above name the positions given in the file.
	slices.SortFunc(cfg.Notifications.RemindDaysBefore, func(a, b int) int { return b - a })
	return cfg, nil
}

// parser records the line of every key it reads so that semantic errors
// from Config.Validate, which name keys, can be placed in the file.
type parser struct {
	yamlnode.Problems
	lines map[string]int
}

func (p *parser) top(root *yaml.Node, cfg *iamprune.Config) {
	p.Fields(root, "", "key", topKeys, func(key string, k, v *yaml.Node) {
		p.lines[key] = k.Line
		switch key {
		case "analyzer", "source", "tracking_period_days":
			p.findingSource(key, v, cfg)
		case "exceptions":
			// A path, or a mapping with the path and the exception policy.
			if v.Kind == yaml.MappingNode {
				p.exceptions(v, cfg)
			} else if s, ok := p.String(v, key); ok {
				cfg.Exceptions = s
			}
		case "rules":
			if !yamlnode.IsNull(v) {
				p.rules(v, cfg)
			}
		case "protected":
			// Built-in protections live in code; the file only adds globs.
			p.Strings(v, key, func(i int, ip, s string, item *yaml.Node) {
				p.lines[ip] = item.Line
				cfg.Protected = append(cfg.Protected, s)
			})
		case "accounts":
			p.accounts(v, cfg)
		case "propose":
			if !yamlnode.IsNull(v) {
				p.propose(v, &cfg.Propose)
			}
		case "recommendations":
			if b, ok := p.Bool(v, key); ok {
				cfg.Recommendations = b
			}
		case "notifications":
			if !yamlnode.IsNull(v) {
				p.notifications(v, &cfg.Notifications)
			}
		case "holds":
			p.holds(v, &cfg.Holds)
		case "aws":
			if !yamlnode.IsNull(v) {
				p.aws(v, &cfg.AWS)
			}
		case "sweep":
			if !yamlnode.IsNull(v) {
				p.sweep(v, &cfg.Sweep)
			}
		case "report":
			p.report(v, &cfg.Report)
		case "limits":
			if !yamlnode.IsNull(v) {
				p.Fields(v, key, "key", limitKeys, func(lk string, k, v *yaml.Node) {
					kp := yamlnode.Join(key, lk)
					p.lines[kp] = k.Line
					if n, ok := p.Int(v, kp); ok {
						cfg.Limits.MaxActionsPerRun = n
					}
				})
			}
		}
	})
}

// holds reads the holds block.
func (p *parser) holds(v *yaml.Node, h *iamprune.Holds) {
	if yamlnode.IsNull(v) {
		return
	}
	p.Fields(v, "holds", "key", holdKeys, func(key string, k, v *yaml.Node) {
		kp := yamlnode.Join("holds", key)
		p.lines[kp] = k.Line
		if n, ok := p.Int(v, kp); ok {
			h.Days = n
		}
	})
}

// report reads the report block.
func (p *parser) report(v *yaml.Node, r *iamprune.Report) {
	if yamlnode.IsNull(v) {
		return
	}
	p.Fields(v, "report", "key", reportKeys, func(key string, k, v *yaml.Node) {
		kp := yamlnode.Join("report", key)
		p.lines[kp] = k.Line
		if s, ok := p.String(v, kp); ok {
			r.Publish = s
		}
	})
}

// findingSource reads the keys that say where findings come from.
func (p *parser) findingSource(key string, v *yaml.Node, cfg *iamprune.Config) {
	switch key {
	case "analyzer":
		if s, ok := p.String(v, key); ok {
			cfg.Analyzer = s
		}
	case "source":
		if s, ok := p.String(v, key); ok {
			cfg.FindingSource = s
		}
	case "tracking_period_days":
		if n, ok := p.Int(v, key); ok {
			cfg.TrackingPeriodDays = n
		}
	}
}

func (p *parser) aws(v *yaml.Node, a *iamprune.AWS) {
	p.Fields(v, "aws", "key", awsKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join("aws", key)
		p.lines[kp] = k.Line
		switch key {
		case "max_retries":
			if n, ok := p.Int(fv, kp); ok {
				a.MaxRetries = n
			}
		case "max_concurrent_accounts":
			if n, ok := p.Int(fv, kp); ok {
				a.MaxConcurrentAccounts = n
			}
		case "max_requests_per_second":
			fv = yamlnode.Deref(fv)
			if yamlnode.IsNull(fv) {
				return
			}
			var f float64
			if fv.Kind != yaml.ScalarNode || (fv.Tag != "!!int" && fv.Tag != "!!float") || fv.Decode(&f) != nil {
				p.Add(fv.Line, kp, "must be a number, got %s", yamlnode.Describe(fv))
				return
			}
			a.MaxRequestsPerSecond = f
		case "retry_base_delay", "max_backoff":
			s, ok := p.String(fv, kp)
			if !ok {
				return
			}
			d, err := parseDuration(s) // the one duration syntax of the config
			if err != nil || d <= 0 {
				p.Add(fv.Line, kp, "must be a positive duration such as 200ms or 20s, got %q", s)
				return
			}
			if key == "retry_base_delay" {
				a.RetryBaseDelay = d
			} else {
				a.MaxBackoff = d
			}
		}
	})
}

func (p *parser) exceptions(v *yaml.Node, cfg *iamprune.Config) {
	p.Fields(v, "exceptions", "key", excKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join("exceptions", key)
		p.lines[kp] = k.Line
		switch key {
		case "path":
			if s, ok := p.String(fv, kp); ok {
				cfg.Exceptions = s
			}
		case "max_days":
			if n, ok := p.Int(fv, kp); ok {
				cfg.ExceptionPolicy.MaxDays = n
			}
		case "max_archive_rules":
			if n, ok := p.Int(fv, kp); ok {
				cfg.ExceptionPolicy.MaxArchiveRules = n
			}
		}
	})
}

func (p *parser) rules(v *yaml.Node, cfg *iamprune.Config) {
	types := make([]string, len(iamprune.FindingTypes))
	for i, t := range iamprune.FindingTypes {
		types[i] = string(t)
	}
	p.Fields(v, "rules", "finding type", types, func(tk string, k, rv *yaml.Node) {
		path := "rules." + tk
		p.lines[path] = k.Line
		if yamlnode.IsNull(rv) {
			return
		}
		t := iamprune.FindingType(tk)
		rule := cfg.Rule(t) // a partial rule keeps the defaults of the fields it omits
		p.Fields(rv, path, "key", ruleKeys, func(key string, k, fv *yaml.Node) {
			kp := yamlnode.Join(path, key)
			p.lines[kp] = k.Line
			switch key {
			case "notify_after_days":
				if n, ok := p.Int(fv, kp); ok {
					rule.NotifyAfterDays = n
				}
			case "remediate_after_days":
				if n, ok := p.Int(fv, kp); ok {
					rule.RemediateAfterDays = n
				}
			case "action":
				if s, ok := p.String(fv, kp); ok {
					rule.Action = iamprune.ActionKind(s)
				}
			case "delete_after_days":
				if n, ok := p.Int(fv, kp); ok {
					rule.DeleteAfterDays = n
				}
			}
		})
		cfg.Rules[t] = rule
	})
}

// validate runs Config.Validate and places its messages at the line of the
// key they name. Validate walks a map and stops at the first problem, so
// rules are checked one at a time, in a stable order, to report them all.
func (p *parser) validate(cfg iamprune.Config) {
	for _, t := range iamprune.FindingTypes {
		one := iamprune.DefaultConfig()
		one.Rules = map[iamprune.FindingType]iamprune.Rule{t: cfg.Rules[t]}
		// Only what a rule check reads (whether propose.repo is set): the
		// other keys are checked once, below.
		one.ExceptionPolicy, one.Notifications = cfg.ExceptionPolicy, iamprune.Notifications{}
		if cfg.Propose.Repo != "" {
			one.Propose.Repo = "set"
		}
		p.place(one.Validate())
	}
	rest := cfg
	rest.Rules = nil
	rest.Notifications = iamprune.Notifications{}
	p.place(rest.Validate())
	p.place(cfg.Notifications.Validate())
}

func (p *parser) place(err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	key, _, _ := strings.Cut(msg, ": ")
	for {
		if line, ok := p.lines[key]; ok {
			p.Add(line, "", "%s", msg)
			return
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	// Not located in the file: the message still names the key.
	p.Add(0, "", "%s", msg)
}

// sweep reads the sweep block: the fan-out queue and the page size.
func (p *parser) sweep(v *yaml.Node, sw *iamprune.SweepSettings) {
	p.Fields(v, "sweep", "key", sweepKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join("sweep", key)
		p.lines[kp] = k.Line
		switch key {
		case "queue_url":
			if s, ok := p.String(fv, kp); ok {
				sw.QueueURL = s
			}
		case "page_size":
			if n, ok := p.Int(fv, kp); ok {
				sw.PageSize = n
			}
		}
	})
}
