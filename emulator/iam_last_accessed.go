package emulator

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/iamprune/iamprune/snapshot"
)

// Service-last-accessed jobs (GenerateServiceLastAccessedDetails,
// GetServiceLastAccessedDetails), served from the snapshot's
// last-accessed.json. As in IAM a job is asynchronous: its first poll
// answers IN_PROGRESS, later ones its result, read in pages. A principal
// the file does not list gets a completed job with no services: the
// emulator never invents use. An entry whose JobStatus is FAILED serves
// that failure; one IN_PROGRESS never completes.

// slaJob is one GenerateServiceLastAccessedDetails job.
type slaJob struct {
	arn         string
	granularity string
	created     time.Time
	completed   time.Time // zero until the first poll has answered
}

type generateSLAResult struct {
	JobId string `xml:"JobId"`
}

type xmlTrackedAction struct {
	ActionName         string   `xml:"ActionName"`
	LastAccessedEntity string   `xml:"LastAccessedEntity,omitempty"`
	LastAccessedRegion string   `xml:"LastAccessedRegion,omitempty"`
	LastAccessedTime   *isoTime `xml:"LastAccessedTime,omitempty"`
}

type xmlServiceLastAccessed struct {
	LastAuthenticated          *isoTime               `xml:"LastAuthenticated,omitempty"`
	LastAuthenticatedEntity    string                 `xml:"LastAuthenticatedEntity,omitempty"`
	LastAuthenticatedRegion    string                 `xml:"LastAuthenticatedRegion,omitempty"`
	ServiceName                string                 `xml:"ServiceName"`
	ServiceNamespace           string                 `xml:"ServiceNamespace"`
	TotalAuthenticatedEntities int                    `xml:"TotalAuthenticatedEntities"`
	TrackedActionsLastAccessed list[xmlTrackedAction] `xml:"TrackedActionsLastAccessed,omitempty"`
}

type xmlErrorDetails struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type getSLAResult struct {
	Error                *xmlErrorDetails             `xml:"Error,omitempty"`
	IsTruncated          bool                         `xml:"IsTruncated"`
	JobCompletionDate    *isoTime                     `xml:"JobCompletionDate,omitempty"`
	JobCreationDate      isoTime                      `xml:"JobCreationDate"`
	JobStatus            string                       `xml:"JobStatus"`
	JobType              string                       `xml:"JobType"`
	Marker               string                       `xml:"Marker,omitempty"`
	ServicesLastAccessed list[xmlServiceLastAccessed] `xml:"ServicesLastAccessed"`
}

// entityExists reports whether arn names a user, role, group or managed
// policy of the account, the entities IAM reports on.
func (st *state) entityExists(arn string) bool {
	for _, u := range st.users {
		if u.Arn == arn {
			return true
		}
	}
	for _, r := range st.roles {
		if r.Arn == arn {
			return true
		}
	}
	for _, g := range st.groups {
		if g.Arn == arn {
			return true
		}
	}
	return st.policyByARN[arn] != nil
}

func (s *Server) generateServiceLastAccessedDetails(p queryParams) (any, *apiError) {
	arn := p.get("Arn")
	if arn == "" {
		return nil, missingParam("arn")
	}
	gran := p.get("Granularity")
	switch gran {
	case "":
		gran = "SERVICE_LEVEL"
	case "SERVICE_LEVEL", "ACTION_LEVEL":
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'granularity' failed to satisfy constraint: Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]", gran)
	}
	if !s.st.entityExists(arn) {
		return nil, noSuchEntity("The entity with ARN %s cannot be found.", arn)
	}
	u := s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	u.seq++
	sum := sha256.Sum256([]byte(arn))
	id := fmt.Sprintf("%x-%04x-4%03x-8%03x-%012x", sum[:4], sum[4:6], u.seq>>12&0xfff, u.seq&0xfff, sum[6:12])
	u.jobs[id] = &slaJob{arn: arn, granularity: gran, created: s.stamp()}
	return generateSLAResult{JobId: id}, nil
}

func (s *Server) getServiceLastAccessedDetails(p queryParams) (any, *apiError) {
	id := p.get("JobId")
	if id == "" {
		return nil, missingParam("jobId")
	}
	u := s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	job := u.jobs[id]
	if job == nil {
		return nil, noSuchEntity("The job with id %s cannot be found.", id)
	}
	res := getSLAResult{JobCreationDate: isoTime(job.created), JobType: job.granularity, JobStatus: snapshot.JobInProgress}
	e := u.lastAccessed[job.arn]
	if job.completed.IsZero() || (e != nil && e.JobStatus == snapshot.JobInProgress) {
		if job.completed.IsZero() {
			job.completed = s.stamp()
		}
		return res, nil
	}
	res.JobStatus = snapshot.JobCompleted
	res.JobCompletionDate = isoPtr(&job.completed)
	if e == nil {
		return res, nil
	}
	if e.JobCompletionDate != nil {
		res.JobCompletionDate = isoPtr(e.JobCompletionDate)
	}
	if e.JobStatus == snapshot.JobFailed {
		res.JobStatus = snapshot.JobFailed
		if e.Error != nil {
			res.Error = &xmlErrorDetails{Code: e.Error.Code, Message: e.Error.Message}
		}
		return res, nil
	}
	pg, aerr := s.iamPage(p, len(e.Services), "GetServiceLastAccessedDetails|"+id)
	if aerr != nil {
		return nil, aerr
	}
	res.IsTruncated, res.Marker = pg.Next != "", pg.Next
	for _, sv := range e.Services[pg.Start:pg.End] {
		res.ServicesLastAccessed = append(res.ServicesLastAccessed, xmlService(sv, job.granularity == "ACTION_LEVEL"))
	}
	return res, nil
}

func xmlService(sv snapshot.ServiceLastAccessed, actions bool) xmlServiceLastAccessed {
	x := xmlServiceLastAccessed{
		LastAuthenticated: isoPtr(sv.LastAuthenticated), LastAuthenticatedEntity: sv.LastAuthenticatedEntity,
		LastAuthenticatedRegion: sv.LastAuthenticatedRegion, ServiceName: sv.ServiceName,
		ServiceNamespace: sv.ServiceNamespace, TotalAuthenticatedEntities: sv.TotalAuthenticatedEntities,
	}
	if !actions {
		return x
	}
	for _, a := range sv.TrackedActions {
		x.TrackedActionsLastAccessed = append(x.TrackedActionsLastAccessed, xmlTrackedAction{
			ActionName: a.ActionName, LastAccessedEntity: a.LastAccessedEntity,
			LastAccessedRegion: a.LastAccessedRegion, LastAccessedTime: isoPtr(a.LastAccessedTime),
		})
	}
	return x
}
