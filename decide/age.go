package decide

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

const day = 24 * time.Hour

// item is one thing that is aged on its own: an access key, a password, a
// role, or one service of an UnusedPermission finding.
type item struct {
	target  string     // the access key id, else the principal name
	service string     // UnusedPermission only
	last    *time.Time // most recent use; nil when never used
	ref     time.Time  // last use, or creation when never used
	days    int        // whole days since ref
	// Set when prior notice holds the item back (notice.go): its first
	// notice, if any, and the end of its notice period.
	noticed   *time.Time
	notBefore time.Time
}

// age returns the finding's items with their age, and a skip entry for each
// item that can no longer be acted on (its key or login profile is gone, or
// it was never used and its creation date is unknown).
func (d *decision) age() (items []item, skips []iamprune.Action) {
	f, p := d.f, d.p
	add := func(target, service string, last *time.Time, created time.Time, what string) {
		it, ok := d.newItem(target, service, last, created)
		if !ok {
			skips = append(skips, d.skip(target, what+" was never used and its creation date is unknown"))
			return
		}
		items = append(items, it)
	}
	switch f.Type {
	case iamprune.UnusedIAMUserAccessKey:
		// Each key by its own lastAccessed: the reference Lambda aged every
		// key by the first key's.
		for _, k := range f.AccessKeys {
			known := p.Key(k.AccessKeyID)
			if known == nil && p.KeysKnown {
				if a, ok := d.doneGone(iamprune.KindDeleteAccessKey, k.AccessKeyID); ok {
					skips = append(skips, a)
					continue
				}
				skips = append(skips, d.skip(k.AccessKeyID, "access key "+k.AccessKeyID+" no longer exists"))
				continue
			}
			last, created := k.LastAccessed, time.Time{}
			if known != nil {
				last, created = latest(last, known.LastUsed), known.CreateDate
			}
			add(k.AccessKeyID, "", last, created, "access key "+k.AccessKeyID)
		}
	case iamprune.UnusedIAMUserPassword:
		lp := p.LoginProfile
		if lp == nil && p.LoginProfileKnown {
			if a, ok := d.doneGone(iamprune.KindDeleteLoginProfile, d.name); ok {
				return nil, []iamprune.Action{a}
			}
			return nil, []iamprune.Action{d.skip(d.name, "login profile no longer exists")}
		}
		last, created := f.LastAccessed, time.Time{}
		if lp != nil {
			last, created = latest(last, lp.PasswordLastUsed), lp.CreateDate
		}
		add(d.name, "", last, created, "console password")
	case iamprune.UnusedIAMRole:
		add(d.name, "", latest(f.LastAccessed, p.RoleLastUsed), p.CreateDate, "role")
	case iamprune.UnusedPermission:
		var unknown []string
		for _, s := range mergeServices(f.Services) {
			if it, ok := d.newItem(d.name, s.Namespace, s.LastAccessed, p.CreateDate); ok {
				items = append(items, it)
			} else {
				unknown = append(unknown, s.Namespace)
			}
		}
		if len(unknown) > 0 {
			a := d.skip(d.name, fmt.Sprintf("%s never used and the principal's creation date is unknown: %s", plural(len(unknown), "service"), strings.Join(unknown, ", ")))
			a.Services = unknown
			skips = append(skips, a)
		}
	}
	return items, skips
}

// newItem ages an item from its last use or, when never used, from its
// creation. ok is false when there is nothing to age from.
func (d *decision) newItem(target, service string, last *time.Time, created time.Time) (it item, ok bool) {
	it = item{target: target, service: service, last: last, ref: created}
	if last != nil {
		t := last.UTC()
		it.last, it.ref = &t, t
	}
	if it.ref.IsZero() {
		return it, false
	}
	it.ref = it.ref.UTC()
	it.days = max(0, int(d.now.Sub(it.ref)/day))
	return it, true
}

// due is the date on which the item is (or was) due for remediation: past
// remediate_after_days and, when prior notice holds it back, past its
// notice period.
func (d *decision) due(it item) time.Time {
	due := it.ref.Add(time.Duration(d.rule.RemediateAfterDays) * day)
	if it.notBefore.After(due) {
		return it.notBefore
	}
	return due
}

// latest returns the more recent of two optional times. The facts may be
// fresher than the finding: a key used since the analyzer last looked must
// not be remediated as unused.
func latest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.After(*b):
		return a
	}
	return b
}

// serviceLastUsed is when anything in the service was last used. A service
// is aged by its own lastAccessed, never by its unused actions, and an
// action used more recently than the service summary says counts too.
func serviceLastUsed(s iamprune.ServiceUsage) *time.Time {
	last := s.LastAccessed
	for _, a := range s.Actions {
		last = latest(last, a.LastAccessed)
	}
	return last
}

// mergeServices folds repeated namespaces (findingDetails pages merged) into
// one, with LastAccessed the most recent use of anything in the service,
// sorted by namespace.
func mergeServices(in []iamprune.ServiceUsage) []iamprune.ServiceUsage {
	var out []iamprune.ServiceUsage
	for _, s := range in {
		if s.Namespace == "" {
			continue
		}
		i := slices.IndexFunc(out, func(o iamprune.ServiceUsage) bool { return o.Namespace == s.Namespace })
		if i < 0 {
			out = append(out, iamprune.ServiceUsage{Namespace: s.Namespace, LastAccessed: serviceLastUsed(s)})
			continue
		}
		out[i].LastAccessed = latest(out[i].LastAccessed, serviceLastUsed(s))
	}
	slices.SortFunc(out, func(a, b iamprune.ServiceUsage) int { return strings.Compare(a.Namespace, b.Namespace) })
	return out
}
