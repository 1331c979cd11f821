package emulator

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
	"github.com/iamprune/iamprune/snapshot"
)

// Access Analyzer finding recommendations (GenerateFindingRecommendation,
// GetFindingRecommendation) for UnusedPermission findings.
//
// Like the service, the emulator works asynchronously: Generate starts a
// job and Get answers IN_PROGRESS for the first polls (one by default,
// SetRecommendationPolls), then SUCCEEDED with the steps. The steps are
// computed when the job starts, from the finding and the principal's
// policies in the emulator's state, deliberately at service granularity:
// in every Allow statement, literal actions and "svc:*" of services the
// finding lists as wholly unused, and literal actions it lists as unused,
// are dropped; every other wildcard, NotAction and Deny is kept. That is
// coarser than iamprune's refinement, so the two disagree as they may in
// real life. A policy left with no Allow statement gets DETACH_POLICY,
// another changed one CREATE_POLICY with the reduced document.

// recommendationType is the service's only recommendationType.
const recommendationType = "UnusedPermissionRecommendation"

// recStore is one server's recommendation jobs and test overrides. It
// lives beside the server (see recs) and has its own lock; handlers take
// it after the state lock, hooks without it.
type recStore struct {
	mu sync.Mutex
	// polls is how many Get calls a new job answers IN_PROGRESS.
	polls int
	jobs  map[string]*recJob
	// outcomes override the computed result of a finding's jobs.
	outcomes map[string]recOutcome
	seq      int
}

// recJob is one generation of a finding's recommendation.
type recJob struct {
	gen       int // binds page tokens to this job
	resource  string
	started   time.Time
	completed *time.Time
	pending   int // Get calls still to answer IN_PROGRESS
	computed  recOutcome
}

// recOutcome is a finished recommendation: steps (each a RecommendedStep
// union value, JSON) or a failure.
type recOutcome struct {
	steps            []json.RawMessage
	failCode, failMs string
}

func (o recOutcome) failed() bool { return o.failCode != "" || o.failMs != "" }

func (s *Server) recs() *recStore {
	s.recsOnce.Do(func() {
		s.recsStore = &recStore{polls: 1, jobs: map[string]*recJob{}, outcomes: map[string]recOutcome{}}
	})
	return s.recsStore
}

// SetRecommendationPolls sets how many GetFindingRecommendation calls a
// job started afterwards answers IN_PROGRESS before it succeeds or fails
// (1 by default; 0 makes jobs finish at once).
func (s *Server) SetRecommendationPolls(n int) {
	r := s.recs()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls = max(n, 0)
}

// SetRecommendation makes the finding's recommendation, for jobs finishing
// from now on, SUCCEEDED with exactly these steps instead of the computed
// ones (no steps: an empty recommendation).
func (s *Server) SetRecommendation(findingID string, steps ...iamprune.RecommendedStep) error {
	raw := make([]json.RawMessage, 0, len(steps))
	for _, st := range steps {
		b, err := json.Marshal(map[string]jsonUnusedPermissionsStep{"unusedPermissionsRecommendedStep": stepJSON(st)})
		if err != nil {
			return iamprune.Errorf(iamprune.EINVALID, "emulator: recommended step for %s: %w", findingID, err)
		}
		raw = append(raw, b)
	}
	return s.setOutcome(findingID, recOutcome{steps: raw})
}

// SetRecommendationSteps is SetRecommendation with each step given as the
// RecommendedStep union value verbatim, so that tests can serve members a
// client does not know, such as {"someFutureStep": {...}}.
func (s *Server) SetRecommendationSteps(findingID string, steps ...json.RawMessage) error {
	raw := make([]json.RawMessage, len(steps))
	for i, st := range steps {
		if !json.Valid(st) {
			return iamprune.Errorf(iamprune.EINVALID, "emulator: recommended step %d for %s is not JSON", i, findingID)
		}
		raw[i] = bytes.Clone(st)
	}
	return s.setOutcome(findingID, recOutcome{steps: raw})
}

// FailRecommendation makes the finding's recommendation, for jobs
// finishing from now on, FAILED with this error code and message.
func (s *Server) FailRecommendation(findingID, code, message string) error {
	if code == "" && message == "" {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: FailRecommendation(%s) needs a code or a message", findingID)
	}
	return s.setOutcome(findingID, recOutcome{failCode: code, failMs: message})
}

func (s *Server) setOutcome(findingID string, o recOutcome) error {
	s.st.mu.RLock()
	f := s.st.findingByID[findingID]
	s.st.mu.RUnlock()
	if f == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: no finding %s", findingID)
	}
	r := s.recs()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[findingID] = o
	return nil
}

// Wire shapes.

type jsonUnusedPermissionsStep struct {
	ExistingPolicyId  string    `json:"existingPolicyId,omitempty"`
	PolicyUpdatedAt   *jsonTime `json:"policyUpdatedAt,omitempty"`
	RecommendedAction string    `json:"recommendedAction"`
	RecommendedPolicy string    `json:"recommendedPolicy,omitempty"`
}

type jsonRecommendationError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type getFindingRecommendationOutput struct {
	CompletedAt        *jsonTime                `json:"completedAt,omitempty"`
	Error              *jsonRecommendationError `json:"error,omitempty"`
	NextToken          string                   `json:"nextToken,omitempty"`
	RecommendationType string                   `json:"recommendationType"`
	RecommendedSteps   []json.RawMessage        `json:"recommendedSteps,omitempty"`
	ResourceArn        string                   `json:"resourceArn"`
	StartedAt          jsonTime                 `json:"startedAt"`
	Status             string                   `json:"status"`
}

func stepJSON(st iamprune.RecommendedStep) jsonUnusedPermissionsStep {
	out := jsonUnusedPermissionsStep{
		ExistingPolicyId: st.ExistingPolicyID, PolicyUpdatedAt: jsonPtr(st.PolicyUpdatedAt),
		RecommendedAction: st.Action,
	}
	if len(st.Policy) > 0 {
		// The service sends the document as a JSON string.
		out.RecommendedPolicy = compactJSON(st.Policy)
	}
	return out
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// Handlers. Both run under the state's shared lock: a job reads the
// account, never changes it, so neither is a write.

// recommendationFinding resolves the analyzerArn and {id} of a request to
// an UnusedPermission finding.
func (s *Server) recommendationFinding(r restRequest) (*snapshot.Finding, *apiError) {
	if aerr := s.checkAnalyzer(r.Query.Get("analyzerArn")); aerr != nil {
		return nil, aerr
	}
	f := s.st.findingByID[r.Arg]
	if f == nil {
		return nil, resourceNotFound(r.Arg, "AWS::AccessAnalyzer::Finding", "Finding %s not found", r.Arg)
	}
	if f.FindingType != "UnusedPermission" {
		return nil, validationException("Finding recommendations are only supported for UnusedPermission findings; finding %s is %s", f.Id, f.FindingType)
	}
	return f, nil
}

func (s *Server) generateFindingRecommendation(r restRequest) (any, *apiError) {
	f, aerr := s.recommendationFinding(r)
	if aerr != nil {
		return nil, aerr
	}
	rs := s.recs()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if j := rs.jobs[f.Id]; j != nil && j.completed == nil {
		return nil, conflictException(f.Id, "AWS::AccessAnalyzer::Finding",
			"A recommendation for finding %s is already being generated", f.Id)
	}
	rs.seq++
	rs.jobs[f.Id] = &recJob{
		gen: rs.seq, resource: f.Resource, started: s.stamp(), pending: rs.polls,
		computed: s.computeRecommendation(f),
	}
	return empty{}, nil
}

func (s *Server) getFindingRecommendation(r restRequest) (any, *apiError) {
	f, aerr := s.recommendationFinding(r)
	if aerr != nil {
		return nil, aerr
	}
	maxResults, aerr := queryInt(r.Query, "maxResults")
	if aerr != nil {
		return nil, aerr
	}
	rs := s.recs()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	j := rs.jobs[f.Id]
	if j == nil {
		return nil, resourceNotFound(f.Id, "AWS::AccessAnalyzer::Finding",
			"No recommendation was generated for finding %s; call GenerateFindingRecommendation first", f.Id)
	}
	out := getFindingRecommendationOutput{
		RecommendationType: recommendationType, ResourceArn: j.resource, StartedAt: jsonTime(j.started),
		Status: "IN_PROGRESS",
	}
	if j.completed == nil && j.pending > 0 {
		j.pending--
		return out, nil
	}
	if j.completed == nil {
		done := s.stamp()
		j.completed = &done
		if o, ok := rs.outcomes[f.Id]; ok {
			j.computed = o
		}
	}
	out.CompletedAt = jsonPtr(j.completed)
	if o := j.computed; o.failed() {
		out.Status = "FAILED"
		out.Error = &jsonRecommendationError{Code: o.failCode, Message: o.failMs}
		return out, nil
	}
	out.Status = "SUCCEEDED"
	pg, aerr := s.aaPage(maxResults, r.Query.Get("nextToken"), len(j.computed.steps),
		"GetFindingRecommendation|"+f.Id+"|"+strconv.Itoa(j.gen))
	if aerr != nil {
		return nil, aerr
	}
	out.RecommendedSteps = j.computed.steps[pg.Start:pg.End]
	out.NextToken = pg.Next
	return out, nil
}

// computeRecommendation is the emulator's own recommendation (see the top
// of this file). It runs under the state's shared lock.
func (s *Server) computeRecommendation(f *snapshot.Finding) recOutcome {
	// An organisation analyzer's finding names a member account's
	// principal: read that account's policies, under its own lock.
	if p, ok := iamprune.ParseARN(f.Resource); ok && p.Account != s.st.meta.AccountID {
		if m := s.Member(p.Account); m != nil && m != s {
			m.st.mu.RLock()
			defer m.st.mu.RUnlock()
			return m.computeRecommendation(f)
		}
	}
	inline, attached, ok := s.principalPolicies(f.Resource)
	if !ok {
		return recOutcome{failCode: "ResourceNotFound", failMs: "The principal " + f.Resource + " of finding " + f.Id + " no longer exists"}
	}
	unused := unusedServices(f)
	var out recOutcome
	add := func(id string, updated *time.Time, doc string) {
		st, ok := coarseStep(doc, unused)
		if !ok {
			return
		}
		st.ExistingPolicyId, st.PolicyUpdatedAt = id, jsonPtr(updated)
		b, _ := json.Marshal(map[string]jsonUnusedPermissionsStep{"unusedPermissionsRecommendedStep": st})
		out.steps = append(out.steps, b)
	}
	for _, p := range inline {
		add(p.PolicyName, nil, p.PolicyDocument.JSON)
	}
	for _, a := range attached {
		p := s.st.policyByARN[a.PolicyArn]
		if p == nil {
			continue
		}
		for _, v := range p.PolicyVersionList {
			if v.VersionId == p.DefaultVersionId {
				updated := p.UpdateDate
				if updated.IsZero() {
					updated = v.CreateDate
				}
				add(p.Arn, &updated, v.Document.JSON)
			}
		}
	}
	return out
}

// principalPolicies finds the role or user a finding names, by ARN.
func (s *Server) principalPolicies(arn string) ([]snapshot.PolicyDetail, []snapshot.AttachedPolicy, bool) {
	p, ok := iamprune.ParseARN(arn)
	if !ok || p.Partition != s.st.partition() || p.Service != "iam" {
		return nil, nil, false
	}
	name := p.Name
	switch p.Kind {
	case "role":
		if r := s.st.roleByName[fold(name)]; r != nil && r.Arn == arn {
			return r.RolePolicyList, r.AttachedManagedPolicies, true
		}
	case "user":
		if u := s.st.userByName[fold(name)]; u != nil && u.Arn == arn {
			return u.UserPolicyList, u.AttachedManagedPolicies, true
		}
	}
	return nil, nil, false
}

// unusedService is what a finding says of one service: wholly unused, or
// these actions ("svc:name", lower case) unused.
type unusedService struct {
	whole   bool
	actions map[string]bool
}

func unusedServices(f *snapshot.Finding) map[string]*unusedService {
	out := map[string]*unusedService{}
	for _, d := range f.FindingDetails {
		p := d.UnusedPermissionDetails
		if p == nil || p.ServiceNamespace == "" {
			continue
		}
		ns := strings.ToLower(p.ServiceNamespace)
		u := out[ns]
		if u == nil {
			u = &unusedService{actions: map[string]bool{}}
			out[ns] = u
		}
		if len(p.Actions) == 0 {
			u.whole = true
		}
		for _, a := range p.Actions {
			name := a.Action
			if _, after, ok := strings.Cut(name, ":"); ok {
				name = after
			}
			u.actions[ns+":"+strings.ToLower(name)] = true
		}
	}
	return out
}

// coarseStep reduces one policy document; ok is false when it keeps
// everything (or cannot be read: the service would skip it too).
func coarseStep(doc string, unused map[string]*unusedService) (jsonUnusedPermissionsStep, bool) {
	text, err := policy.DecodePolicyString(doc) // state may hold URL-encoded text
	if err != nil {
		return jsonUnusedPermissionsStep{}, false
	}
	d, err := policy.Parse([]byte(text))
	if err != nil {
		return jsonUnusedPermissionsStep{}, false
	}
	changed, allows := false, 0
	var kept []policy.Statement
	for _, st := range d.Statement {
		if st.Effect == policy.Allow && st.Action.Set() {
			var actions []string
			for _, a := range st.Action.Values {
				if unusedAction(a, unused) {
					changed = true
					continue
				}
				actions = append(actions, a)
			}
			if len(actions) == 0 {
				continue
			}
			st.Action.Values = actions
		}
		if st.Effect == policy.Allow {
			allows++
		}
		kept = append(kept, st)
	}
	if !changed {
		return jsonUnusedPermissionsStep{}, false
	}
	if allows == 0 {
		return jsonUnusedPermissionsStep{RecommendedAction: "DETACH_POLICY"}, true
	}
	d.Statement = kept
	b, err := policy.Marshal(d)
	if err != nil {
		return jsonUnusedPermissionsStep{}, false
	}
	return jsonUnusedPermissionsStep{RecommendedAction: "CREATE_POLICY", RecommendedPolicy: compactJSON(b)}, true
}

// unusedAction: a literal action the finding names, or a literal action or
// "svc:*" of a wholly unused service. Other wildcards are kept.
func unusedAction(pattern string, unused map[string]*unusedService) bool {
	svc, name, ok := strings.Cut(strings.ToLower(pattern), ":")
	if !ok {
		return false
	}
	u := unused[svc]
	switch {
	case u == nil:
		return false
	case name == "*":
		return u.whole
	case policy.IsWildcard(name):
		return false
	}
	return u.whole || u.actions[svc+":"+name]
}
