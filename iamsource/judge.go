package iamsource

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// Warning sources.
const (
	srcReport       = "credential report"
	srcLastAccessed = "service last accessed"
	srcPrincipals   = "iam principals"
)

// judge derives the findings of one Data.
type judge struct {
	d        *Data
	account  string
	cutoff   time.Time // used at or after it: used within the window
	days     int
	out      []iamprune.Finding
	warnings []iamprune.Warning
	// noData counts the principals judged without last-accessed data.
	noData int
}

func newJudge(d *Data) *judge {
	days := cmp.Or(d.TrackingPeriodDays, iamprune.DefaultTrackingPeriodDays)
	j := &judge{d: d, days: days, cutoff: d.Now.UTC().AddDate(0, 0, -days)}
	if d.Facts != nil {
		j.account = d.Facts.Account
	}
	if d.Report == nil {
		j.warn(srcReport, "no credential report: no password or access-key findings")
	}
	return j
}

func (j *judge) warn(src, format string, args ...any) {
	j.warnings = append(j.warnings, iamprune.Warning{Source: src, Message: fmt.Sprintf(format, args...)})
}

// principals returns the account's principals sorted by ARN.
func (j *judge) principals() []*iamprune.Principal {
	if j.d.Facts == nil {
		return nil
	}
	out := make([]*iamprune.Principal, 0, len(j.d.Facts.Principals))
	for _, p := range j.d.Facts.Principals {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *iamprune.Principal) int { return strings.Compare(a.ARN, b.ARN) })
	return out
}

// used reports whether t falls within the tracking window.
func (j *judge) used(t *time.Time) bool { return t != nil && !t.Before(j.cutoff) }

// judged reports whether a principal created at created is old enough to
// judge: one younger than the window has not had the time to use anything.
func (j *judge) judged(p *iamprune.Principal, created time.Time) bool {
	if created.IsZero() {
		j.warn(srcPrincipals, "%s %s: creation date unknown; not judged", p.Kind, p.ARN)
		return false
	}
	return created.Before(j.cutoff)
}

// role gives an UnusedIAMRole finding for a role not assumed within the
// window (RoleLastUsed absent: never, within IAM's 400 days), else its
// unused permissions. Like the analyzer, an unused role gets no
// UnusedPermission finding: the role finding covers it.
func (j *judge) role(p *iamprune.Principal) {
	if !j.judged(p, p.CreateDate) {
		return
	}
	if !j.used(p.RoleLastUsed) {
		f := j.finding(p, iamprune.UnusedIAMRole, latestOr(p.CreateDate, p.RoleLastUsed), j.d.Now)
		f.LastAccessed = copyTime(p.RoleLastUsed)
		j.out = append(j.out, f)
		return
	}
	j.permission(p)
}

// user judges a user's password and access keys from its credential
// report row, then its permissions.
func (j *judge) user(p *iamprune.Principal) {
	row := j.d.Report.User(p.Name)
	created := p.CreateDate
	if created.IsZero() && row != nil {
		created = row.CreationTime
	}
	if !j.judged(p, created) {
		return
	}
	switch {
	case j.d.Report == nil:
	case row == nil:
		j.warn(srcReport, "user %s is not in the credential report (generated %s); its password and keys are not judged", p.Name, stamp(j.d.Report.GeneratedTime))
	default:
		j.password(p, row)
		j.keys(p, row)
	}
	j.permission(p)
}

// password gives an UnusedIAMUserPassword finding for an enabled password
// not used within the window; never used only where the report says so.
func (j *judge) password(p *iamprune.Principal, row *iamprune.CredentialReportUser) {
	if has, known := row.HasPassword(); !known || !has {
		return
	}
	last, known := row.PasswordUse()
	if !known {
		j.warn(srcReport, "user %s: password_last_used is %q; password not judged", p.Name, row.PasswordLastUsed.State)
		return
	}
	if j.used(last) {
		return
	}
	// Never used: it dates from when it was set, else from the user.
	ref := latestOr(p.CreateDate, row.PasswordLastChanged.Time())
	if last != nil {
		ref = *last
	}
	f := j.finding(p, iamprune.UnusedIAMUserPassword, ref, j.d.Report.GeneratedTime)
	f.LastAccessed = copyTime(last)
	j.out = append(j.out, f)
}

// keys gives one UnusedIAMUserAccessKey finding listing the user's active
// keys not used within the window, each report slot matched to its key id
// by creation date (the slot's last_rotated).
func (j *judge) keys(p *iamprune.Principal, row *iamprune.CredentialReportUser) {
	var usage []iamprune.KeyUsage
	ref := time.Time{}
	for i := range row.AccessKeys {
		slot := row.AccessKeys[i]
		if !row.HasKey(i) || !slot.Active {
			continue
		}
		last, known := row.KeyUse(i)
		if !known {
			j.warn(srcReport, "user %s: access_key_%d_last_used_date is %q; key not judged", p.Name, i+1, slot.LastUsedDate.State)
			continue
		}
		if j.used(last) {
			continue
		}
		id, why := matchKey(p, slot.LastRotated.At)
		if id == "" {
			j.warn(srcReport, "user %s: access_key_%d (last rotated %s) %s; key not judged", p.Name, i+1, stamp(slot.LastRotated.At), why)
			continue
		}
		usage = append(usage, iamprune.KeyUsage{AccessKeyID: id, LastAccessed: copyTime(last)})
		ref = latestOr(latestOr(ref, &slot.LastRotated.At), last)
	}
	if len(usage) == 0 {
		return
	}
	f := j.finding(p, iamprune.UnusedIAMUserAccessKey, ref, j.d.Report.GeneratedTime)
	f.AccessKeys = usage
	j.out = append(j.out, f)
}

// matchKey returns the id of the user's one key created at rotated, or ""
// and why not.
func matchKey(p *iamprune.Principal, rotated time.Time) (id, why string) {
	if !p.KeysKnown {
		return "", "cannot be matched: the user's access keys were not read"
	}
	var ids []string
	for _, k := range p.AccessKeys {
		if k.CreateDate.Truncate(time.Second).Equal(rotated.Truncate(time.Second)) {
			ids = append(ids, k.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", "matches none of the user's keys by creation date"
	case 1:
		return ids[0], ""
	}
	return "", "matches " + strings.Join(ids, " and ") + " by creation date"
}

// permission gives an UnusedPermission finding listing each service not
// used within the window, with its tracked actions, and each service used
// within it whose tracked actions were not all used within it, with
// those. No data, or a failed job, gives none.
func (j *judge) permission(p *iamprune.Principal) {
	la, ok := j.d.LastAccessed[p.ARN]
	switch {
	case la.Err != "":
		j.warn(srcLastAccessed, "%s: %s; permissions not judged", p.ARN, la.Err)
		return
	case !ok || la.Data == nil:
		j.noData++
		return
	}
	var services []iamprune.ServiceUsage
	var ref time.Time
	for _, s := range la.Data.Services {
		su := iamprune.ServiceUsage{Namespace: s.Namespace, LastAccessed: copyTime(s.LastAuthenticated)}
		serviceUsed := j.used(s.LastAuthenticated)
		for _, a := range s.Actions {
			if serviceUsed && j.used(a.LastAccessed) {
				continue
			}
			su.Actions = append(su.Actions, iamprune.ActionUsage{Action: s.Namespace + ":" + a.Name, LastAccessed: copyTime(a.LastAccessed)})
		}
		if serviceUsed && len(su.Actions) == 0 {
			continue
		}
		services = append(services, su)
		ref = latestOr(ref, s.LastAuthenticated)
	}
	if len(services) == 0 {
		return
	}
	f := j.finding(p, iamprune.UnusedPermission, latestOr(ref, nil, p.CreateDate), la.Data.JobCompletionDate)
	f.Services = services
	j.out = append(j.out, f)
}

// missingLastAccessed reports, once, the principals judged without
// service-last-accessed data.
func (j *judge) missingLastAccessed() {
	switch {
	case j.d.LastAccessed == nil:
		j.warn(srcLastAccessed, "no service-last-accessed data: no UnusedPermission findings")
	case j.noData > 0:
		j.warn(srcLastAccessed, "%d principals have no service-last-accessed data: no UnusedPermission findings for them", j.noData)
	}
}

// finding is a finding of type t about p. updated is what the finding was
// derived from (the last use, else the creation), so that it changes only
// when the data does; analyzed is when IAM computed the data.
func (j *judge) finding(p *iamprune.Principal, t iamprune.FindingType, updated, analyzed time.Time) iamprune.Finding {
	account := cmp.Or(p.Account, j.account)
	rt := "AWS::IAM::User"
	if p.Kind == iamprune.KindRole {
		rt = "AWS::IAM::Role"
	}
	return iamprune.Finding{
		ID: FindingID(account, p.ARN, t, p.Name), Type: t, Status: iamprune.StatusActive,
		Resource: p.ARN, ResourceType: rt, Account: account,
		CreatedAt: updated.UTC(), UpdatedAt: updated.UTC(), AnalyzedAt: cmp.Or(analyzed, j.d.Now).UTC(),
	}
}

// latestOr returns the most recent of base, t and more (zero when none).
func latestOr(base time.Time, t *time.Time, more ...time.Time) time.Time {
	if t != nil && t.After(base) {
		base = *t
	}
	for _, m := range more {
		if m.After(base) {
			base = m
		}
	}
	return base
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := t.UTC()
	return &c
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
