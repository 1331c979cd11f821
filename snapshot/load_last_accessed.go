package snapshot

import (
	"fmt"
	"slices"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// loadLastAccessed reads last-accessed.json into a map by ARN. Each entry
// must have an Arn (once in the file) and a JobStatus; each service its
// ServiceNamespace, each tracked action its ActionName.
func loadLastAccessed(f *file) (map[string]*LastAccessedEntry, error) {
	seen := map[string]int{}
	list, err := decodeArray(f, "last-accessed", func(f *file, v rawAt, path string) (*LastAccessedEntry, error) {
		var e LastAccessedEntry
		if err := f.decode(v, path, &e); err != nil {
			return nil, err
		}
		if msg := checkLastAccessed(&e); msg != "" {
			return nil, f.errLine(v.off, "%s.%s", path, msg)
		}
		if first, dup := seen[e.Arn]; dup {
			return nil, f.errLine(v.off, "%s.Arn: %s is also last-accessed[%d]", path, input.ARN(e.Arn), first)
		}
		seen[e.Arn] = len(seen)
		return &e, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*LastAccessedEntry, len(list))
	for _, e := range list {
		out[e.Arn] = e
	}
	return out, nil
}

var jobStatuses = []string{JobCompleted, JobInProgress, JobFailed}

// checkLastAccessed returns the first problem as "Field: what", or "".
func checkLastAccessed(e *LastAccessedEntry) string {
	if m := firstMissing(req{"Arn", e.Arn == ""}, req{"JobStatus", e.JobStatus == ""}); m != "" {
		return m + ": missing"
	}
	if _, ok := iamprune.ParseARN(e.Arn); !ok {
		return "Arn: " + input.ARN(e.Arn) + " is not an IAM user or role ARN"
	}
	if !slices.Contains(jobStatuses, e.JobStatus) {
		return fmt.Sprintf("JobStatus: %s is not one of COMPLETED, IN_PROGRESS, FAILED", input.Snippet(e.JobStatus))
	}
	if e.JobType != "" && e.JobType != "ACTION_LEVEL" && e.JobType != "SERVICE_LEVEL" {
		return fmt.Sprintf("JobType: %s is not ACTION_LEVEL or SERVICE_LEVEL", input.Snippet(e.JobType))
	}
	for i, s := range e.Services {
		if s.ServiceNamespace == "" {
			return fmt.Sprintf("ServicesLastAccessed[%d].ServiceNamespace: missing", i)
		}
		for j, a := range s.TrackedActions {
			if a.ActionName == "" {
				return fmt.Sprintf("ServicesLastAccessed[%d].TrackedActionsLastAccessed[%d].ActionName: missing", i, j)
			}
		}
	}
	return ""
}

// ServiceLastAccessed returns the principal's service-last-accessed data,
// from the member's folder in an organisation snapshot,
// or nil when the snapshot has none for it or its job did not complete:
// no data is never read as "unused".
func (s *Snapshot) ServiceLastAccessed(arn string) *iamprune.ServiceLastAccessed {
	e := s.LastAccessed[arn]
	for _, m := range s.Members {
		if e == nil {
			e = m.LastAccessed[arn]
		}
	}
	if e == nil || e.JobStatus != JobCompleted {
		return nil
	}
	out := &iamprune.ServiceLastAccessed{ARN: e.Arn, JobCompletionDate: derefTime(e.JobCompletionDate)}
	for _, sv := range e.Services {
		a := iamprune.ServiceAccess{
			Name: sv.ServiceName, Namespace: sv.ServiceNamespace, LastAuthenticated: copyTime(sv.LastAuthenticated),
			LastAuthenticatedEntity: sv.LastAuthenticatedEntity, LastAuthenticatedRegion: sv.LastAuthenticatedRegion,
			TotalAuthenticatedEntities: sv.TotalAuthenticatedEntities, ActionsTracked: sv.TrackedActions != nil,
		}
		for _, t := range sv.TrackedActions {
			a.Actions = append(a.Actions, iamprune.ActionAccess{
				Name: t.ActionName, LastAccessed: copyTime(t.LastAccessedTime), Entity: t.LastAccessedEntity, Region: t.LastAccessedRegion,
			})
		}
		out.Services = append(out.Services, a)
	}
	return out
}
