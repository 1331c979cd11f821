package iamprune

import "time"

// CredentialReport is IAM's credential report (GetCredentialReport): one
// row per IAM user, and one for the account root user, with the last use
// of each password and access key. It is account-wide and free, and IAM
// regenerates it at most every four hours.
type CredentialReport struct {
	// GeneratedTime is when IAM generated the report; zero when unknown.
	GeneratedTime time.Time
	Users         []CredentialReportUser
}

// RootUserName is the user column of the account root user's row.
const RootUserName = "<root_account>"

// CredentialReportUser is one row of the report. Columns the report holds
// as dates or booleans may also hold one of the ReportState words, which
// the helpers below read with the report's own semantics.
type CredentialReportUser struct {
	User         string
	ARN          string
	CreationTime time.Time
	// PasswordEnabled is false or true; not_supported for the root user.
	PasswordEnabled      ReportBool
	PasswordLastUsed     ReportTime
	PasswordLastChanged  ReportTime
	PasswordNextRotation ReportTime
	MFAActive            bool
	// AccessKeys are the access_key_1 and access_key_2 columns.
	AccessKeys [2]ReportKey
	// Certs are the cert_1 and cert_2 (signing certificate) columns.
	Certs [2]ReportCert
}

// ReportKey is one access key's columns.
type ReportKey struct {
	Active bool
	// LastRotated is when the key was created or last changed; N/A when
	// the user has no such key.
	LastRotated ReportTime
	// LastUsedDate is N/A when there is no key or the key was never used
	// (since IAM began tracking it on 22 April 2015).
	LastUsedDate ReportTime
	// LastUsedRegion and LastUsedService are "" for N/A.
	LastUsedRegion  string
	LastUsedService string
}

// ReportCert is one signing certificate's columns.
type ReportCert struct {
	Active      bool
	LastRotated ReportTime
}

// ReportState is what a report cell holds when it holds no value.
type ReportState string

const (
	// ReportValue: the cell holds a date or a boolean.
	ReportValue ReportState = ""
	// ReportNA ("N/A"): not applicable, such as the last use of a key the
	// user does not have, or of one never used.
	ReportNA ReportState = "N/A"
	// ReportNoInformation ("no_information"): IAM has no record, such as
	// a password never used since IAM began tracking it (20 October 2014).
	ReportNoInformation ReportState = "no_information"
	// ReportNotSupported ("not_supported"): the column does not apply to
	// this row (the root user's password columns).
	ReportNotSupported ReportState = "not_supported"
)

// ReportStates are the words a date or password_enabled cell may hold
// instead of a value.
var ReportStates = []ReportState{ReportNA, ReportNoInformation, ReportNotSupported}

// ReportTime is a date cell: At when State is ReportValue.
type ReportTime struct {
	At    time.Time
	State ReportState
}

// Time returns the date, or nil when the cell holds none.
func (t ReportTime) Time() *time.Time {
	if t.State != ReportValue {
		return nil
	}
	v := t.At
	return &v
}

// ReportDate is a date cell holding t.
func ReportDate(t time.Time) ReportTime { return ReportTime{At: t.UTC()} }

// ReportBool is a boolean cell that may hold not_supported.
type ReportBool struct {
	Value bool
	State ReportState
}

// HasPassword reports whether the user has a console password. known is
// false when the report cannot say (the root user's not_supported).
func (u *CredentialReportUser) HasPassword() (has, known bool) {
	if u.PasswordEnabled.State != ReportValue {
		return false, false
	}
	return u.PasswordEnabled.Value, true
}

// PasswordUse returns when an existing password was last used: a date, or
// nil when never used (no_information or N/A while the password is
// enabled). known is false when the user has no password or the report
// cannot say: absent data is never read as "unused".
func (u *CredentialReportUser) PasswordUse() (last *time.Time, known bool) {
	if has, ok := u.HasPassword(); !has || !ok {
		return nil, false
	}
	switch u.PasswordLastUsed.State {
	case ReportValue:
		return u.PasswordLastUsed.Time(), true
	case ReportNoInformation, ReportNA:
		return nil, true
	}
	return nil, false
}

// HasKey reports whether access key slot i (0 or 1) holds a key: IAM
// gives its last_rotated date exactly when it does.
func (u *CredentialReportUser) HasKey(i int) bool {
	return u.AccessKeys[i].LastRotated.State == ReportValue
}

// KeyUse returns when the key in slot i was last used: a date, or nil when
// never used (N/A for an existing key). known is false when the slot holds
// no key or the report cannot say.
func (u *CredentialReportUser) KeyUse(i int) (last *time.Time, known bool) {
	if !u.HasKey(i) {
		return nil, false
	}
	k := u.AccessKeys[i]
	switch k.LastUsedDate.State {
	case ReportValue:
		return k.LastUsedDate.Time(), true
	case ReportNA:
		return nil, true
	}
	return nil, false
}

// User returns the row of the named user, or nil.
func (r *CredentialReport) User(name string) *CredentialReportUser {
	if r == nil {
		return nil
	}
	for i := range r.Users {
		if r.Users[i].User == name {
			return &r.Users[i]
		}
	}
	return nil
}
