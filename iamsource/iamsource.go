// Package iamsource derives unused-access findings from IAM's own, free
// data instead of Access Analyzer's: roles from RoleLastUsed and their
// creation date, passwords and access keys from the credential report,
// permissions from service-last-accessed data. The findings have the
// analyzer's types and detail shapes, so decide and everything after it
// treat them alike.
//
// Absent data is never read as "unused": a gap the report's own semantics
// do not define is a warning, and a principal without service-last-accessed
// data gets no UnusedPermission finding.
//
// It is pure: it imports only the root, and does no I/O.
package iamsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/iamprune/iamprune"
)

// SourceName names the findings' origin in plans and warnings.
const SourceName = "iam"

// Data is what IAM says about an account.
type Data struct {
	// Facts are the account's principals: roles with RoleLastUsed and
	// CreateDate, users with their access keys (ListAccessKeys) where
	// KeysKnown is set.
	Facts *iamprune.Facts
	// Report is the credential report; nil when it could not be read,
	// which gives no password or key finding and a warning.
	Report *iamprune.CredentialReport
	// LastAccessed is each principal's service-last-accessed result, by
	// ARN; a principal absent from it has no data.
	LastAccessed map[string]LastAccessed
	// Now ends the tracking window.
	Now time.Time
	// TrackingPeriodDays is the window; 0 means the default.
	TrackingPeriodDays int
}

// LastAccessed is one principal's service-last-accessed result: the data,
// or why there is none (a job that failed or did not complete).
type LastAccessed struct {
	Data *iamprune.ServiceLastAccessed
	Err  string
}

// Source is an iamprune.FindingSource over IAM data that load reads.
type Source struct {
	load func(context.Context) (*Data, error)
}

var _ iamprune.FindingSource = (*Source)(nil)

// New returns a source whose data load reads.
func New(load func(context.Context) (*Data, error)) *Source { return &Source{load: load} }

// Findings loads the data and derives the findings from it.
func (s *Source) Findings(ctx context.Context) ([]iamprune.Finding, []iamprune.Warning, error) {
	d, err := s.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	f, w := Findings(d)
	return f, w, nil
}

// Findings derives the four finding types from d, sorted by principal ARN
// and type, with the warnings for what could not be judged.
func Findings(d *Data) ([]iamprune.Finding, []iamprune.Warning) {
	j := newJudge(d)
	for _, p := range j.principals() {
		switch p.Kind {
		case iamprune.KindRole:
			j.role(p)
		case iamprune.KindUser:
			j.user(p)
		}
	}
	j.missingLastAccessed()
	return j.out, j.warnings
}

// FindingID is the stable id of the finding of type t about principal in
// account, for target (the principal's name, or a key id): a hash shaped
// like the analyzer's UUIDs, so that plans, the journal, holds and notices
// find the same finding run after run.
func FindingID(account, principal string, t iamprune.FindingType, target string) string {
	sum := sha256.Sum256([]byte(account + "|" + principal + "|" + string(t) + "|" + target))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NeedsLastAccessed returns, sorted, the principals of d whose permissions
// Findings would judge: those old enough for the window, except roles not
// used within it (their UnusedIAMRole finding covers them). Only they need
// a service-last-accessed job; d.LastAccessed is not read.
func NeedsLastAccessed(d *Data) []string {
	j := newJudge(d)
	var out []string
	for _, p := range j.principals() {
		created := p.CreateDate
		if row := d.Report.User(p.Name); p.Kind == iamprune.KindUser && created.IsZero() && row != nil {
			created = row.CreationTime
		}
		switch {
		case created.IsZero() || !created.Before(j.cutoff):
		case p.Kind == iamprune.KindRole && j.used(p.RoleLastUsed), p.Kind == iamprune.KindUser:
			out = append(out, p.ARN)
		}
	}
	return out
}
