package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/catalog"
)

// Usage is what a principal used: per service its last access and, for
// services AWS tracks at action level, per action. Build it with
// UsageFromFinding, UsageFromLastAccessed or NewUsage.
//
// Services absent from the usage count as used: neither source says
// anything about them, and refinement must never remove access on a guess.
type Usage struct {
	services map[string]*serviceUse // by lower-case namespace
}

type serviceUse struct {
	namespace string
	// last is the most recent use of anything in the service: the service
	// summary, or a tracked action used more recently than it says.
	last    *time.Time
	actions map[string]actionUse // by lower-case "service:name"
}

type actionUse struct {
	action string // "service:Name" as the source spelled it
	last   *time.Time
}

// NewUsage builds a Usage from service records. Repeated namespaces (pages
// merged) are folded together, keeping the most recent use. Actions may be
// written "Name" or "service:Name".
func NewUsage(services []iamprune.ServiceUsage) Usage {
	u := Usage{services: map[string]*serviceUse{}}
	for _, s := range services {
		ns := strings.ToLower(strings.TrimSpace(s.Namespace))
		if ns == "" {
			continue
		}
		su := u.services[ns]
		if su == nil {
			su = &serviceUse{namespace: ns, last: utc(s.LastAccessed), actions: map[string]actionUse{}}
			u.services[ns] = su
		} else {
			su.last = latest(su.last, s.LastAccessed)
		}
		for _, a := range s.Actions {
			name := a.Action
			if _, after, ok := strings.Cut(name, ":"); ok {
				name = after
			}
			// A wildcard here would be written into policies as one.
			if name == "" || IsWildcard(name) {
				continue
			}
			action := ns + ":" + name
			key := strings.ToLower(action)
			if prev, ok := su.actions[key]; ok {
				su.actions[key] = actionUse{action: prev.action, last: latest(prev.last, a.LastAccessed)}
			} else {
				su.actions[key] = actionUse{action: action, last: utc(a.LastAccessed)}
			}
			su.last = latest(su.last, a.LastAccessed)
		}
	}
	return u
}

// UsageFromFinding reads an UnusedPermission finding. The services it lists
// are the unused ones, each with its last access and, where AWS tracks
// actions, the unused actions with theirs; services it does not list were
// used.
func UsageFromFinding(f iamprune.Finding) Usage { return NewUsage(f.Services) }

// lastAccessedEntry is the part of a last-accessed.json entry (the output of
// get-service-last-accessed-details, ACTION_LEVEL) that usage needs.
type lastAccessedEntry struct {
	JobStatus            string            `json:"JobStatus"`
	ServicesLastAccessed []json.RawMessage `json:"ServicesLastAccessed"`
}

type serviceLastAccessed struct {
	ServiceNamespace           string            `json:"ServiceNamespace"`
	LastAuthenticated          *string           `json:"LastAuthenticated"`
	TrackedActionsLastAccessed []json.RawMessage `json:"TrackedActionsLastAccessed"`
}

type trackedAction struct {
	ActionName       string  `json:"ActionName"`
	LastAccessedTime *string `json:"LastAccessedTime"`
}

// UsageFromLastAccessed reads one last-accessed.json entry: {"Arn": ...,
// ...get-service-last-accessed-details output}. Errors are EINVALID and name
// the field, as in "ServicesLastAccessed[1].LastAuthenticated: ...".
func UsageFromLastAccessed(raw json.RawMessage) (Usage, error) {
	var e lastAccessedEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Usage{}, usageErr("", err)
	}
	if e.JobStatus != "" && e.JobStatus != "COMPLETED" {
		return Usage{}, iamprune.Errorf(iamprune.EINVALID, "usage: JobStatus: %q: the job has not completed, so the data is partial", e.JobStatus)
	}
	if e.ServicesLastAccessed == nil {
		return Usage{}, iamprune.Errorf(iamprune.EINVALID, "usage: ServicesLastAccessed: missing")
	}
	var services []iamprune.ServiceUsage
	for i, r := range e.ServicesLastAccessed {
		path := fmt.Sprintf("ServicesLastAccessed[%d]", i)
		var s serviceLastAccessed
		if err := json.Unmarshal(r, &s); err != nil {
			return Usage{}, usageErr(path, err)
		}
		if s.ServiceNamespace == "" {
			return Usage{}, iamprune.Errorf(iamprune.EINVALID, "usage: %s.ServiceNamespace: missing", path)
		}
		last, err := parseTime(s.LastAuthenticated, path+".LastAuthenticated")
		if err != nil {
			return Usage{}, err
		}
		su := iamprune.ServiceUsage{Namespace: s.ServiceNamespace, LastAccessed: last}
		for j, ra := range s.TrackedActionsLastAccessed {
			apath := fmt.Sprintf("%s.TrackedActionsLastAccessed[%d]", path, j)
			var a trackedAction
			if err := json.Unmarshal(ra, &a); err != nil {
				return Usage{}, usageErr(apath, err)
			}
			if a.ActionName == "" {
				return Usage{}, iamprune.Errorf(iamprune.EINVALID, "usage: %s.ActionName: missing", apath)
			}
			last, err := parseTime(a.LastAccessedTime, apath+".LastAccessedTime")
			if err != nil {
				return Usage{}, err
			}
			su.Actions = append(su.Actions, iamprune.ActionUsage{Action: a.ActionName, LastAccessed: last})
		}
		services = append(services, su)
	}
	return NewUsage(services), nil
}

// usageErr names the field a decoding error is about.
func usageErr(path string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path = joinPath(path, te.Field)
		err = fmt.Errorf("must be %s, got %s", wantKind(te.Type), te.Value)
	}
	if path == "" {
		return iamprune.Errorf(iamprune.EINVALID, "usage: %v", err)
	}
	return iamprune.Errorf(iamprune.EINVALID, "usage: %s: %v", path, err)
}

func parseTime(s *string, path string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "usage: %s: %q is not an RFC 3339 time", path, *s)
	}
	return &t, nil
}

// wantKind names the JSON shape a Go type decodes from.
func wantKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	}
	return "an object"
}

// Unused reports whether action ("service:Name", case-insensitive) is
// unused: its own last access where AWS tracks the action, else its
// service's, is olderThanDays whole days ago or more, or never happened.
// Actions of services the usage does not know are used.
func (u Usage) Unused(action string, now time.Time, olderThanDays int) bool {
	last, known := u.LastAccessed(action)
	return known && stale(last, now, olderThanDays)
}

// LastAccessed returns the last access Unused judges action by, and whether
// the usage knows the action's service at all. A nil time means never.
func (u Usage) LastAccessed(action string) (last *time.Time, known bool) {
	su, a, ok := u.lookup(action)
	if !ok {
		return nil, false
	}
	if a.action != "" {
		return a.last, true
	}
	return su.last, true
}

// ServiceLastAccessed returns the last access of anything in a service, and
// whether the usage knows the service.
func (u Usage) ServiceLastAccessed(service string) (last *time.Time, known bool) {
	su := u.services[strings.ToLower(service)]
	if su == nil {
		return nil, false
	}
	return su.last, true
}

// Tracked reports whether action has its own, action-level record.
func (u Usage) Tracked(action string) bool {
	_, a, ok := u.lookup(action)
	return ok && a.action != ""
}

func (u Usage) lookup(action string) (*serviceUse, actionUse, bool) {
	svc, _, ok := strings.Cut(action, ":")
	if !ok {
		return nil, actionUse{}, false
	}
	su := u.services[strings.ToLower(svc)]
	if su == nil {
		return nil, actionUse{}, false
	}
	return su, su.actions[strings.ToLower(action)], true
}

// serviceUnused reports whether a whole service is unused.
func (u Usage) serviceUnused(su *serviceUse, now time.Time, olderThanDays int) bool {
	return stale(su.last, now, olderThanDays)
}

// extraActions returns the actions the usage knows that the catalogue does
// not (newer than the embedded data), sorted, so that wildcards are judged
// against them too.
func (u Usage) extraActions() []string {
	var out []string
	for _, su := range u.services {
		for _, a := range su.actions {
			if _, ok := catalog.Lookup(a.action); !ok {
				out = append(out, a.action)
			}
		}
	}
	slices.Sort(out)
	return out
}

// sortedServices returns the known services by namespace.
func (u Usage) sortedServices() []*serviceUse {
	out := make([]*serviceUse, 0, len(u.services))
	for _, su := range u.services {
		out = append(out, su)
	}
	slices.SortFunc(out, func(a, b *serviceUse) int { return strings.Compare(a.namespace, b.namespace) })
	return out
}

const day = 24 * time.Hour

// stale: never used, or last used olderThanDays whole days ago or more
// (whole days as in the plan: floor((now - last) / 24h)).
func stale(last *time.Time, now time.Time, olderThanDays int) bool {
	return last == nil || int(now.Sub(*last)/day) >= olderThanDays
}

func latest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return utc(b)
	case b == nil || a.After(*b):
		return a
	}
	return utc(b)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
