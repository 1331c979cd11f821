package exceptions

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

var entryKeys = []string{"principal", "finding_types", "services", "reason", "owner", "expires", "ticket"}

// serviceNamespace is an IAM service prefix such as ec2, s3 or
// execute-api; "*" stands for every service.
var serviceNamespace = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*|\*)$`)

// ParseYAML reads a YAML exceptions file: a top-level "exceptions:" list of
// entries with a required principal (an ARN, * globs allowed) and optional
// finding_types, services (UnusedPermission only: an entry with services
// and no finding_types is limited to UnusedPermission), reason, owner,
// expires (YYYY-MM-DD or RFC 3339) and ticket. Every problem is reported with its
// line and field path. Policy checks such as a required owner belong to
// "exceptions check", not here.
func ParseYAML(data []byte, name string) ([]iamprune.Exception, error) {
	out, _, probs, err := parseYAML(data, name)
	if err != nil {
		return nil, err
	}
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseYAML returns the entries that decoded without a problem, the others
// as far as they decoded (partial), and the problems of those; err is a
// syntax error that stopped the parse.
func parseYAML(data []byte, name string) (out, partial []iamprune.Exception, probs *yamlnode.Problems, err error) {
	probs = &yamlnode.Problems{Name: name}
	root, err := yamlnode.Parse(data, name)
	if err != nil || root == nil {
		return nil, nil, probs, err
	}
	probs.Fields(root, "", "key", []string{"exceptions"}, func(_ string, _, list *yaml.Node) {
		if yamlnode.IsNull(list) {
			return
		}
		if list.Kind != yaml.SequenceNode {
			probs.Add(list.Line, "exceptions", "must be a list, got %s", yamlnode.Describe(list))
			return
		}
		for i, item := range list.Content {
			e, ok := entry(probs, yamlnode.Deref(item), fmt.Sprintf("exceptions[%d]", i))
			e.File = name
			switch {
			case ok:
				out = append(out, e)
			case e.Path != "":
				partial = append(partial, e)
			}
		}
	})
	return out, partial, probs, nil
}

// entry decodes one list item; ok is false when it had a problem.
func entry(probs *yamlnode.Problems, n *yaml.Node, path string) (e iamprune.Exception, ok bool) {
	before := probs.Len()
	if yamlnode.IsNull(n) || n.Kind != yaml.MappingNode {
		probs.Add(n.Line, path, "must be a mapping with at least a principal, got %s", yamlnode.Describe(n))
		return e, false
	}
	e.Line = n.Line
	e.Path = path
	e.FieldLines = map[string]int{}
	var servicesLine int
	principalGiven := false
	probs.Fields(n, path, "key", entryKeys, func(key string, k, v *yaml.Node) {
		kp := yamlnode.Join(path, key)
		e.FieldLines[key] = k.Line
		if v.Kind == yaml.SequenceNode {
			for i, item := range v.Content {
				e.FieldLines[fmt.Sprintf("%s[%d]", key, i)] = yamlnode.Deref(item).Line
			}
		}
		switch key {
		case "principal":
			principalGiven = !yamlnode.IsNull(v)
			if s, ok := probs.String(v, kp); ok {
				if !validPrincipal(s) {
					probs.Add(v.Line, kp, "%s", notPrincipal(s))
				}
				e.Principal = s
			}
		case "finding_types":
			e.FindingTypes = findingTypes(probs, v, kp)
		case "services":
			servicesLine = k.Line
			e.Services = services(probs, v, kp)
		case "reason":
			e.Reason, _ = probs.String(v, kp)
		case "owner":
			e.Owner, _ = probs.String(v, kp)
		case "ticket":
			e.Ticket, _ = probs.String(v, kp)
		case "expires":
			e.Expires = expires(probs, v, kp)
		}
	})
	if !principalGiven {
		probs.Add(n.Line, path+".principal", "required")
	}
	// Services only narrow UnusedPermission findings. Naming them on an
	// exception limited to other types is a mistake, not a no-op; naming them
	// without finding_types limits the exception to UnusedPermission, so that
	// "app may keep s3" does not also exempt app from quarantine.
	switch {
	case len(e.Services) == 0:
	case len(e.FindingTypes) == 0:
		e.FindingTypes = []iamprune.FindingType{iamprune.UnusedPermission}
	case !slices.Contains(e.FindingTypes, iamprune.UnusedPermission):
		probs.Add(servicesLine, path+".services", "only apply to %s, which finding_types does not include", iamprune.UnusedPermission)
	}
	return e, probs.Len() == before
}

func findingTypes(probs *yamlnode.Problems, v *yaml.Node, path string) []iamprune.FindingType {
	known := make([]string, len(iamprune.FindingTypes))
	for i, t := range iamprune.FindingTypes {
		known[i] = string(t)
	}
	var out []iamprune.FindingType
	given := probs.Strings(v, path, func(_ int, ip, s string, item *yaml.Node) {
		t := iamprune.FindingType(s)
		if !t.Valid() {
			if sug := yamlnode.Suggest(s, known); sug != "" {
				probs.Add(item.Line, ip, "%s is not a finding type (did you mean %s?)", input.Snippet(s), sug)
			} else {
				probs.Add(item.Line, ip, "%s is not a finding type (want one of %s)", input.Snippet(s), strings.Join(known, ", "))
			}
			return
		}
		out = append(out, t)
	})
	if given && len(v.Content) == 0 {
		probs.Add(v.Line, path, "empty list; leave the key out to cover every finding type")
	}
	return out
}

func services(probs *yamlnode.Problems, v *yaml.Node, path string) []string {
	var out []string
	given := probs.Strings(v, path, func(_ int, ip, s string, item *yaml.Node) {
		// Kept even when malformed, so that the indexes of the entry's
		// services are those of the file (the entry is not used then).
		out = append(out, s)
		if !serviceNamespace.MatchString(s) {
			probs.Add(item.Line, ip, "%s is not a service namespace (lower case, like ec2 or s3)", input.Snippet(s))
		}
	})
	if given && len(v.Content) == 0 {
		probs.Add(v.Line, path, "empty list; leave the key out to cover every service")
	}
	return out
}

// expires accepts a date, meaning through the end of that day UTC, or an
// RFC 3339 timestamp, meaning through the end of its UTC day.
func expires(probs *yamlnode.Problems, v *yaml.Node, path string) time.Time {
	if yamlnode.IsNull(v) {
		return time.Time{}
	}
	// An unquoted date is a YAML timestamp; its text is what counts.
	if v.Kind == yaml.ScalarNode {
		if d, err := time.Parse(time.DateOnly, v.Value); err == nil {
			return d
		}
		if ts, err := time.Parse(time.RFC3339, v.Value); err == nil {
			return ts.UTC()
		}
	}
	probs.Add(v.Line, path, "%s is not a date (YYYY-MM-DD)", yamlnode.Describe(v))
	return time.Time{}
}
