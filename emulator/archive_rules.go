package emulator

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/iamprune/iamprune"
)

// Access Analyzer archive rules. As in AWS, a rule archives findings only
// when it is applied: creating or updating one leaves existing findings as
// they are (AWS applies rules to findings generated later, and the
// emulator generates none), and deleting one does not bring archived
// findings back; UpdateFindings does.

// defaultMaxArchiveRules is Access Analyzer's default quota of archive
// rules per analyzer.
const defaultMaxArchiveRules = 100

const (
	archiveRuleType = "AWS::AccessAnalyzer::ArchiveRule"
	analyzerType    = "AWS::AccessAnalyzer::Analyzer"
)

type archiveRule struct {
	name             string
	filter           map[string]Criterion
	created, updated time.Time
	// token is the clientToken of the CreateArchiveRule that made the
	// rule, so that a retry of that very request succeeds.
	token string
}

// archiveRuleInput is the body of CreateArchiveRule and UpdateArchiveRule
// (which has no ruleName: it is in the path).
type archiveRuleInput struct {
	ClientToken string               `json:"clientToken"`
	Filter      map[string]Criterion `json:"filter"`
	RuleName    string               `json:"ruleName"`
}

type jsonArchiveRule struct {
	RuleName  string               `json:"ruleName"`
	Filter    map[string]Criterion `json:"filter"`
	CreatedAt jsonTime             `json:"createdAt"`
	UpdatedAt jsonTime             `json:"updatedAt"`
}

func (r *archiveRule) json() jsonArchiveRule {
	return jsonArchiveRule{RuleName: r.name, Filter: r.filter, CreatedAt: jsonTime(r.created), UpdatedAt: jsonTime(r.updated)}
}

type getArchiveRuleOutput struct {
	ArchiveRule jsonArchiveRule `json:"archiveRule"`
}

type listArchiveRulesOutput struct {
	ArchiveRules []jsonArchiveRule `json:"archiveRules"`
	NextToken    string            `json:"nextToken,omitempty"`
}

// empty is the body of operations without output.
type empty struct{}

var ruleNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

func checkRuleName(name string) *apiError {
	if name == "" {
		return validationException("ruleName is required")
	}
	if len(name) > 255 || !ruleNamePattern.MatchString(name) {
		return validationException("ruleName %q must match [A-Za-z][A-Za-z0-9_.-]* and be at most 255 characters", name)
	}
	return nil
}

// checkRuleFilter validates a rule's filter, which, unlike a list filter,
// is required and must constrain something.
func checkRuleFilter(filter map[string]Criterion) *apiError {
	if len(filter) == 0 {
		return validationException("filter is required and must have at least one criterion")
	}
	return validateFilter(filter)
}

// checkAnalyzerName resolves an {analyzerName} path label.
func (s *Server) checkAnalyzerName(name string) *apiError {
	if s.st.analyzer.Name != name {
		return resourceNotFound(name, analyzerType, "Analyzer %s not found", name)
	}
	return nil
}

func (s *Server) ruleNamed(name string) (*archiveRule, *apiError) {
	r := s.st.rules[name]
	if r == nil {
		return nil, resourceNotFound(name, archiveRuleType, "Archive rule %s not found", name)
	}
	return r, nil
}

// addRule creates a rule under the state lock, held by the caller.
func (s *Server) addRule(name string, filter map[string]Criterion, token string) *apiError {
	if aerr := checkRuleName(name); aerr != nil {
		return aerr
	}
	if aerr := checkRuleFilter(filter); aerr != nil {
		return aerr
	}
	if old := s.st.rules[name]; old != nil {
		if token != "" && old.token == token && sameFilter(old.filter, filter) {
			return nil
		}
		return conflictException(name, archiveRuleType, "Archive rule %s already exists for analyzer %s", name, s.st.analyzer.Name)
	}
	if len(s.st.rules) >= s.maxRules {
		return serviceQuotaExceeded(name, archiveRuleType,
			"Analyzer %s already has %d archive rules, the quota", s.st.analyzer.Name, len(s.st.rules))
	}
	now := s.stamp()
	s.st.rules[name] = &archiveRule{name: name, filter: cloneFilter(filter), created: now, updated: now, token: token}
	return nil
}

func sameFilter(a, b map[string]Criterion) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (s *Server) createArchiveRule(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzerName(r.Arg); aerr != nil {
		return nil, aerr
	}
	var in archiveRuleInput
	if aerr := decodeBody(r.Body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.addRule(in.RuleName, in.Filter, in.ClientToken); aerr != nil {
		return nil, aerr
	}
	return empty{}, nil
}

func (s *Server) getArchiveRule(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzerName(r.Arg); aerr != nil {
		return nil, aerr
	}
	rule, aerr := s.ruleNamed(r.Rule)
	if aerr != nil {
		return nil, aerr
	}
	return getArchiveRuleOutput{ArchiveRule: rule.json()}, nil
}

// listArchiveRules lists rules by name, so that pages are stable.
func (s *Server) listArchiveRules(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzerName(r.Arg); aerr != nil {
		return nil, aerr
	}
	maxResults, aerr := queryInt(r.Query, "maxResults")
	if aerr != nil {
		return nil, aerr
	}
	names := sortedKeys(s.st.rules)
	pg, aerr := s.aaPage(maxResults, r.Query.Get("nextToken"), len(names), "ListArchiveRules|"+r.Arg)
	if aerr != nil {
		return nil, aerr
	}
	out := listArchiveRulesOutput{ArchiveRules: []jsonArchiveRule{}, NextToken: pg.Next}
	for _, n := range names[pg.Start:pg.End] {
		out.ArchiveRules = append(out.ArchiveRules, s.st.rules[n].json())
	}
	return out, nil
}

func (s *Server) updateArchiveRule(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzerName(r.Arg); aerr != nil {
		return nil, aerr
	}
	var in archiveRuleInput
	if aerr := decodeBody(r.Body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := checkRuleFilter(in.Filter); aerr != nil {
		return nil, aerr
	}
	rule, aerr := s.ruleNamed(r.Rule)
	if aerr != nil {
		return nil, aerr
	}
	rule.filter = cloneFilter(in.Filter)
	rule.updated = s.stamp()
	return empty{}, nil
}

func (s *Server) deleteArchiveRule(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzerName(r.Arg); aerr != nil {
		return nil, aerr
	}
	if _, aerr := s.ruleNamed(r.Rule); aerr != nil {
		return nil, aerr
	}
	delete(s.st.rules, r.Rule)
	return empty{}, nil
}

type applyArchiveRuleInput struct {
	AnalyzerArn string `json:"analyzerArn"`
	RuleName    string `json:"ruleName"`
	ClientToken string `json:"clientToken"`
}

// applyArchiveRule archives every ACTIVE finding the rule's filter matches.
func (s *Server) applyArchiveRule(r restRequest) (any, *apiError) {
	var in applyArchiveRuleInput
	if aerr := decodeBody(r.Body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkAnalyzer(in.AnalyzerArn); aerr != nil {
		return nil, aerr
	}
	if in.RuleName == "" {
		return nil, validationException("ruleName is required")
	}
	rule, aerr := s.ruleNamed(in.RuleName)
	if aerr != nil {
		return nil, aerr
	}
	now := s.stamp()
	for _, f := range s.st.findings {
		if f.Status == "ACTIVE" && matchFilter(rule.filter, f) {
			at := now
			f.Status, f.UpdatedAt = "ARCHIVED", &at
		}
	}
	return empty{}, nil
}

// AddArchiveRule creates an archive rule as CreateArchiveRule would, with
// the same validation, conflict and quota checks. Tests use it to plant a
// rule that is not iamprune's. It is a test hook, not an AWS API.
func (s *Server) AddArchiveRule(name string, filter map[string]Criterion) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	aerr := s.addRule(name, filter, "")
	switch {
	case aerr == nil:
		return nil
	case aerr.Code == "ValidationException":
		return iamprune.Errorf(iamprune.EINVALID, "emulator: archive rule %s: %s", name, aerr.Message)
	default:
		return iamprune.Errorf(iamprune.ECONFLICT, "emulator: archive rule %s: %s", name, aerr.Message)
	}
}
