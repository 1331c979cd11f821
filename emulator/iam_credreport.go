package emulator

import (
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/credreport"
	"github.com/iamprune/iamprune/snapshot"
)

// The credential report (GenerateCredentialReport, GetCredentialReport)
// and service-last-accessed jobs (iam_last_accessed.go).
//
// Like IAM, generation is asynchronous: the first GenerateCredentialReport
// answers STARTED, and the report is ready from the next call on (a
// GetCredentialReport before then answers ReportInProgress, and counts as
// that call). The report is the snapshot's credential-report.csv when it
// has one, with the changes writes have made since (a key deactivated or
// deleted, a login profile deleted or created) applied to its rows;
// otherwise it is derived from the users, keys and login profiles. A
// derived report has no root row, and says false for MFA and certificates,
// which a snapshot does not hold.

// usageStore is one server's report and job state, with its own lock:
// handlers take it after the state lock.
type usageStore struct {
	mu sync.Mutex
	// report is the snapshot's credential report, or nil.
	report *iamprune.CredentialReport
	// hadLogin, keys and keyStatus are the snapshot's login profiles
	// (folded user names), keys and key statuses, to tell what writes
	// changed.
	hadLogin  map[string]bool
	keys      []snapKey
	keyStatus map[string]string
	// reportState is "" (none), STARTED or COMPLETE; generated is when it
	// completed.
	reportState string
	generated   time.Time

	lastAccessed map[string]*snapshot.LastAccessedEntry
	jobs         map[string]*slaJob
	seq          int
}

type snapKey struct{ id, user string }

func newUsageStore(snap *snapshot.Snapshot) *usageStore {
	u := &usageStore{
		hadLogin: map[string]bool{}, keyStatus: map[string]string{},
		lastAccessed: snap.LastAccessed, jobs: map[string]*slaJob{},
	}
	if r := snap.CredentialReport; r != nil {
		u.report = &iamprune.CredentialReport{GeneratedTime: r.GeneratedTime, Users: slices.Clone(r.Users)}
	}
	for _, lp := range snap.LoginProfiles {
		u.hadLogin[fold(lp.UserName)] = true
	}
	for _, k := range snap.AccessKeys {
		u.keys = append(u.keys, snapKey{id: k.AccessKeyId, user: k.UserName})
		u.keyStatus[k.AccessKeyId] = k.Status
	}
	return u
}

type generateCredentialReportResult struct {
	State       string `xml:"State"`
	Description string `xml:"Description"`
}

type getCredentialReportResult struct {
	Content       string  `xml:"Content"`
	ReportFormat  string  `xml:"ReportFormat"`
	GeneratedTime isoTime `xml:"GeneratedTime"`
}

func (s *Server) generateCredentialReport(queryParams) (any, *apiError) {
	u := s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	switch u.reportState {
	case "":
		u.reportState = "STARTED"
		return generateCredentialReportResult{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
	case "STARTED":
		u.complete(s.stamp())
	}
	return generateCredentialReportResult{State: "COMPLETE"}, nil
}

func (u *usageStore) complete(now time.Time) {
	u.reportState, u.generated = "COMPLETE", now
	if u.report != nil {
		u.generated = u.report.GeneratedTime
	}
}

func (s *Server) getCredentialReport(queryParams) (any, *apiError) {
	u := s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	switch u.reportState {
	case "":
		return nil, errorf(http.StatusGone, "ReportNotPresent", "Credential report not present. Use GenerateCredentialReport to generate a report.")
	case "STARTED":
		u.complete(s.stamp())
		return nil, errorf(http.StatusNotFound, "ReportInProgress", "Credential report is being generated.")
	}
	rep := s.currentReport()
	return getCredentialReportResult{
		Content:       base64.StdEncoding.EncodeToString(credreport.Marshal(rep)),
		ReportFormat:  "text/csv",
		GeneratedTime: isoTime(u.generated),
	}, nil
}

// CredentialReport returns the report GetCredentialReport would serve now.
func (s *Server) CredentialReport() *iamprune.CredentialReport {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	return s.currentReport()
}

// currentReport builds the report from the state; callers hold both locks.
func (s *Server) currentReport() *iamprune.CredentialReport {
	u := s.usage
	if u.report == nil {
		rep := &iamprune.CredentialReport{GeneratedTime: u.generated}
		for _, usr := range s.st.users {
			rep.Users = append(rep.Users, s.derivedRow(usr))
		}
		return rep
	}
	rep := &iamprune.CredentialReport{GeneratedTime: u.report.GeneratedTime}
	for _, row := range u.report.Users {
		if row.User == iamprune.RootUserName {
			rep.Users = append(rep.Users, row)
			continue
		}
		usr := s.st.userByName[fold(row.User)]
		if usr == nil {
			continue // deleted since
		}
		s.applyWrites(&row, usr.UserName)
		rep.Users = append(rep.Users, row)
	}
	return rep
}

var na = iamprune.ReportTime{State: iamprune.ReportNA}

// derivedRow is a user's row as IAM would write it from the user's login
// profile and keys.
func (s *Server) derivedRow(usr *snapshot.UserDetail) iamprune.CredentialReportUser {
	row := iamprune.CredentialReportUser{
		User: usr.UserName, ARN: usr.Arn, CreationTime: usr.CreateDate.UTC(),
		PasswordLastUsed: na, PasswordLastChanged: na, PasswordNextRotation: na,
		Certs: [2]iamprune.ReportCert{{LastRotated: na}, {LastRotated: na}},
	}
	if lp := s.st.logins[fold(usr.UserName)]; lp != nil {
		setPassword(&row, lp)
	}
	s.setKeys(&row, usr.UserName, nil)
	return row
}

func setPassword(row *iamprune.CredentialReportUser, lp *snapshot.LoginProfile) {
	row.PasswordEnabled = iamprune.ReportBool{Value: true}
	row.PasswordLastChanged = iamprune.ReportDate(lp.CreateDate)
	row.PasswordLastUsed = iamprune.ReportTime{State: iamprune.ReportNoInformation}
	if lp.PasswordLastUsed != nil {
		row.PasswordLastUsed = iamprune.ReportDate(*lp.PasswordLastUsed)
	}
}

// setKeys fills the key slots from the user's keys, in the order IAM
// lists them. A key whose creation matches a slot of from (the file's
// row) keeps that slot's last use; others take the state's.
func (s *Server) setKeys(row *iamprune.CredentialReportUser, user string, from *[2]iamprune.ReportKey) {
	var slots [2]iamprune.ReportKey
	for i := range slots {
		slots[i] = iamprune.ReportKey{LastRotated: na, LastUsedDate: na}
	}
	for i, k := range s.st.keysOf(user) {
		if i == len(slots) {
			break
		}
		slot := iamprune.ReportKey{LastRotated: iamprune.ReportDate(k.CreateDate.Truncate(time.Second)), LastUsedDate: na}
		if k.LastUsedDate != nil {
			slot.LastUsedDate, slot.LastUsedRegion, slot.LastUsedService = iamprune.ReportDate(*k.LastUsedDate), k.Region, k.ServiceName
		}
		if from != nil {
			for _, f := range from {
				if f.LastRotated.State == iamprune.ReportValue && f.LastRotated.At.Equal(slot.LastRotated.At) {
					slot = f
				}
			}
		}
		slot.Active = k.Status == "Active"
		slots[i] = slot
	}
	row.AccessKeys = slots
}

// applyWrites brings a file row in step with the writes made since the
// snapshot; a row nothing changed is served as the file has it.
func (s *Server) applyWrites(row *iamprune.CredentialReportUser, user string) {
	u := s.usage
	lp := s.st.logins[fold(user)]
	switch had := u.hadLogin[fold(user)]; {
	case had && lp == nil:
		// IAM keeps the last use of a deleted password.
		row.PasswordEnabled = iamprune.ReportBool{}
		row.PasswordLastChanged, row.PasswordNextRotation = na, na
	case !had && lp != nil:
		setPassword(row, lp)
	}
	if u.keysChanged(user, s.st.keysOf(user)) {
		from := row.AccessKeys
		s.setKeys(row, user, &from)
	}
}

// keysChanged reports whether the user's keys differ from the snapshot's:
// one created, deleted or with another status.
func (u *usageStore) keysChanged(user string, keys []*snapshot.AccessKey) bool {
	n := 0
	for _, k := range u.keys {
		if fold(k.user) == fold(user) {
			n++
		}
	}
	if n != len(keys) {
		return true
	}
	for _, k := range keys {
		if u.keyStatus[k.AccessKeyId] != k.Status {
			return true
		}
	}
	return false
}
