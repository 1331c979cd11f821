package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

var (
	notifKeys = []string{"channels", "owner_tags", "routes", "default", "exception_request_url",
		"remind_days_before", "min_interval", "require_prior_notice", "notice_days", "templates_dir"}
	routeKeys = []string{"owner", "channels"}
	// channelTypeKeys are the keys each channel type takes besides name and type.
	channelTypeKeys = map[string][]string{
		iamprune.ChannelSNS:     {"topic_arn"},
		iamprune.ChannelSlack:   {"webhook_url", "webhook_url_env"},
		iamprune.ChannelWebhook: {"url", "secret_env"},
		iamprune.ChannelEmail:   {"smtp_host", "smtp_port", "from", "to", "username_env", "password_env", "starttls", "mail_owners"},
	}
	channelTypes = []string{iamprune.ChannelSNS, iamprune.ChannelSlack, iamprune.ChannelWebhook, iamprune.ChannelEmail}
	channelKeys  = func() []string {
		keys := []string{"name", "type"}
		for _, t := range channelTypes {
			keys = append(keys, channelTypeKeys[t]...)
		}
		return keys
	}()
)

// Email channel defaults.
const defaultSMTPPort = 587

func (p *parser) notifications(v *yaml.Node, n *iamprune.Notifications) {
	const path = "notifications"
	p.Fields(v, path, "key", notifKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join(path, key)
		p.lines[kp] = k.Line
		switch key {
		case "channels":
			p.list(fv, kp, func(ip string, item *yaml.Node) {
				if c, ok := p.channel(item, ip); ok {
					n.Channels = append(n.Channels, c)
				}
			})
		case "owner_tags":
			if tags, ok := p.strings(fv, kp); ok {
				n.OwnerTags = tags
			}
		case "routes":
			p.list(fv, kp, func(ip string, item *yaml.Node) {
				n.Routes = append(n.Routes, p.route(item, ip))
			})
		case "default":
			n.Default, _ = p.strings(fv, kp)
		case "exception_request_url":
			if s, ok := p.String(fv, kp); ok {
				n.ExceptionRequestURL = s
			}
		case "remind_days_before":
			if days, ok := p.ints(fv, kp); ok {
				n.RemindDaysBefore = days
			}
		case "min_interval":
			if s, ok := p.scalar(fv, kp); ok {
				if d, err := parseDuration(s); err != nil {
					p.Add(fv.Line, kp, "%s is not a duration (like 20h, 90m or 7d)", input.Snippet(s))
				} else {
					n.MinInterval = d
				}
			}
		case "require_prior_notice":
			if b, ok := p.Bool(fv, kp); ok {
				n.RequirePriorNotice = b
			}
		case "notice_days":
			if d, ok := p.Int(fv, kp); ok {
				n.NoticeDays = d
			}
		case "templates_dir":
			if s, ok := p.String(fv, kp); ok {
				n.TemplatesDir = s
			}
		}
	})
}

// channel decodes one channel. Keys of another channel type are errors, so
// that a webhook's url given to a slack channel is not silently ignored.
func (p *parser) channel(n *yaml.Node, path string) (c iamprune.Channel, ok bool) {
	if n.Kind != yaml.MappingNode {
		p.Add(n.Line, path, "must be a mapping with name and type, got %s", yamlnode.Describe(n))
		return c, false
	}
	given := map[string]int{}
	startTLS, portGiven := true, false
	p.Fields(n, path, "key", channelKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join(path, key)
		p.lines[kp] = k.Line
		given[key] = k.Line
		str := func(dst *string) {
			if s, ok := p.String(fv, kp); ok {
				*dst = s
			}
		}
		switch key {
		case "name":
			str(&c.Name)
		case "type":
			str(&c.Type)
		case "topic_arn":
			str(&c.TopicARN)
		case "webhook_url":
			str(&c.WebhookURL)
		case "webhook_url_env":
			str(&c.WebhookURLEnv)
		case "url":
			str(&c.URL)
		case "secret_env":
			str(&c.SecretEnv)
		case "smtp_host":
			str(&c.SMTPHost)
		case "smtp_port":
			c.SMTPPort, portGiven = p.Int(fv, kp)
		case "from":
			str(&c.From)
		case "to":
			c.To, _ = p.strings(fv, kp)
		case "username_env":
			str(&c.UsernameEnv)
		case "password_env":
			str(&c.PasswordEnv)
		case "starttls":
			if b, ok := p.Bool(fv, kp); ok {
				startTLS = b
			}
		case "mail_owners":
			c.MailOwners, _ = p.Bool(fv, kp)
		}
	})
	if own, known := channelTypeKeys[c.Type]; known {
		for _, key := range channelKeys[2:] {
			if line, ok := given[key]; ok && !slices.Contains(own, key) {
				p.Add(line, yamlnode.Join(path, key), "not a key of %s channels (they take %s)", c.Type, strings.Join(own, ", "))
			}
		}
	}
	if c.Type == iamprune.ChannelEmail {
		if !portGiven {
			c.SMTPPort = defaultSMTPPort
		}
		c.StartTLS = &startTLS
	}
	return c, true
}

func (p *parser) route(n *yaml.Node, path string) iamprune.Route {
	var r iamprune.Route
	if n.Kind != yaml.MappingNode {
		p.Add(n.Line, path, "must be a mapping with owner and channels, got %s", yamlnode.Describe(n))
		return r
	}
	p.Fields(n, path, "key", routeKeys, func(key string, k, fv *yaml.Node) {
		kp := yamlnode.Join(path, key)
		p.lines[kp] = k.Line
		switch key {
		case "owner":
			r.Owner, _ = p.String(fv, kp)
		case "channels":
			r.Channels, _ = p.strings(fv, kp)
		}
	})
	return r
}

// list calls fn with each item of a list and its path (path[i]), recording
// the item's line; null is an empty list.
func (p *parser) list(n *yaml.Node, path string, fn func(itemPath string, item *yaml.Node)) {
	if yamlnode.IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.Add(n.Line, path, "must be a list, got %s", yamlnode.Describe(n))
		return
	}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		item = yamlnode.Deref(item)
		p.lines[ip] = item.Line
		if yamlnode.IsNull(item) {
			p.Add(item.Line, ip, "empty list item")
			continue
		}
		fn(ip, item)
	}
}

// strings decodes a list of strings, recording each item's line. An empty
// list gives an empty, non-nil slice; null gives ok=false.
func (p *parser) strings(n *yaml.Node, path string) ([]string, bool) {
	out := []string{}
	ok := p.Strings(n, path, func(_ int, ip, s string, item *yaml.Node) {
		p.lines[ip] = item.Line
		out = append(out, s)
	})
	if !ok || len(out) == 0 {
		return nil, ok
	}
	return out, true
}

// ints decodes a list of whole numbers, recording each item's line.
func (p *parser) ints(n *yaml.Node, path string) ([]int, bool) {
	out := []int{}
	p.list(n, path, func(ip string, item *yaml.Node) {
		if v, ok := p.Int(item, ip); ok {
			out = append(out, v)
		}
	})
	return out, !yamlnode.IsNull(n) && n.Kind == yaml.SequenceNode
}

// scalar reads a plain scalar's text whatever its YAML type, for values
// such as durations that YAML may resolve as numbers.
func (p *parser) scalar(n *yaml.Node, path string) (string, bool) {
	if yamlnode.IsNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.Add(n.Line, path, "must be a string, got %s", yamlnode.Describe(n))
		return "", false
	}
	return n.Value, true
}

var days = regexp.MustCompile(`^(\d+)d$`)

// parseDuration accepts Go durations (20h, 90m, 1h30m) and whole days (7d).
func parseDuration(s string) (time.Duration, error) {
	if m := days.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("too many days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
