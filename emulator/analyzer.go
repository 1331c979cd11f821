package emulator

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/iamprune/iamprune/snapshot"
)

// restRequest is a routed REST-JSON request.
type restRequest struct {
	Op    string
	Arg   string // the first path label ({analyzerName} or {id}), unescaped
	Rule  string // the {ruleName} label of archive-rule paths
	Query url.Values
	Body  []byte
}

type restHandler func(s *Server, r restRequest) (any, *apiError)

var analyzerOps = map[string]restHandler{
	"ListAnalyzers":     (*Server).listAnalyzers,
	"GetAnalyzer":       (*Server).getAnalyzer,
	"ListFindingsV2":    (*Server).listFindingsV2,
	"GetFindingV2":      (*Server).getFindingV2,
	"CreateArchiveRule": (*Server).createArchiveRule,
	"GetArchiveRule":    (*Server).getArchiveRule,
	"ListArchiveRules":  (*Server).listArchiveRules,
	"UpdateArchiveRule": (*Server).updateArchiveRule,
	"DeleteArchiveRule": (*Server).deleteArchiveRule,
	"ApplyArchiveRule":  (*Server).applyArchiveRule,
	"UpdateFindings":    (*Server).updateFindings,

	"GenerateFindingRecommendation": (*Server).generateFindingRecommendation,
	"GetFindingRecommendation":      (*Server).getFindingRecommendation,
}

// analyzerWrites are the operations that change state: they run under the
// state's exclusive lock and are listed by Writes.
var analyzerWrites = map[string]bool{
	"CreateArchiveRule": true, "UpdateArchiveRule": true, "DeleteArchiveRule": true,
	"ApplyArchiveRule": true, "UpdateFindings": true,
}

// routeAnalyzer maps method and path to an operation, as the SDK's
// serializers build them (see accessanalyzer serializers.go).
func routeAnalyzer(method, path string) (op, arg, rule string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range analyzerRoutes {
		if rt.method == method && rt.matches(segs) {
			op = rt.op
			if len(segs) > 1 {
				arg = segs[1]
			}
			if len(segs) > 3 {
				rule = segs[3]
			}
			return op, arg, rule
		}
	}
	return "", "", ""
}

// analyzerRoute is one operation's method and path; a "*" segment is the
// analyzer (or finding) and, fourth, the archive rule.
type analyzerRoute struct {
	method, path, op string
}

func (rt analyzerRoute) matches(segs []string) bool {
	want := strings.Split(rt.path, "/")
	if len(want) != len(segs) {
		return false
	}
	for i, w := range want {
		if w != "*" && w != segs[i] {
			return false
		}
	}
	return true
}

var analyzerRoutes = []analyzerRoute{
	{http.MethodGet, "analyzer", "ListAnalyzers"},
	{http.MethodGet, "analyzer/*", "GetAnalyzer"},
	{http.MethodPost, "findingv2", "ListFindingsV2"},
	{http.MethodGet, "findingv2/*", "GetFindingV2"},
	{http.MethodPut, "finding", "UpdateFindings"},
	{http.MethodPut, "archive-rule", "ApplyArchiveRule"},
	{http.MethodPost, "recommendation/*", "GenerateFindingRecommendation"},
	{http.MethodGet, "recommendation/*", "GetFindingRecommendation"},
	{http.MethodPut, "analyzer/*/archive-rule", "CreateArchiveRule"},
	{http.MethodGet, "analyzer/*/archive-rule", "ListArchiveRules"},
	{http.MethodGet, "analyzer/*/archive-rule/*", "GetArchiveRule"},
	{http.MethodPut, "analyzer/*/archive-rule/*", "UpdateArchiveRule"},
	{http.MethodDelete, "analyzer/*/archive-rule/*", "DeleteArchiveRule"},
}

func (s *Server) serveAnalyzer(w http.ResponseWriter, r *http.Request, body []byte, reqID string) {
	op, arg, rule := routeAnalyzer(r.Method, r.URL.Path)
	query := r.URL.Query()
	name := op
	if name == "" {
		name = r.Method + " " + r.URL.Path
	}
	call := Call{Service: "access-analyzer", Operation: name, Params: restParams(r.URL.Path, query, body)}
	if e := s.injectedFailure(call, r); e != nil {
		writeJSONError(w, reqID, e)
		return
	}
	if !s.admit(call, r) {
		writeJSONError(w, reqID, jsonThrottling())
		return
	}
	if op == "" {
		writeJSONError(w, reqID, errorf(http.StatusNotFound, "UnknownOperationException",
			"the iamprune emulator does not implement %s %s for access-analyzer", r.Method, r.URL.Path))
		return
	}
	out, aerr := s.runLocked(analyzerWrites[op], func() (any, *apiError) {
		return analyzerOps[op](s, restRequest{Op: op, Arg: arg, Rule: rule, Query: query, Body: body})
	})
	if aerr != nil {
		writeJSONError(w, reqID, aerr)
		return
	}
	writeJSON(w, http.StatusOK, reqID, out)
}

// restParams renders a REST request canonically: path, sorted query and the
// body re-encoded with sorted keys (or verbatim when it is not JSON). The
// idempotency clientToken, which the SDK makes up for every call, is left
// out, so that asking for the same change twice shows as a duplicate.
func restParams(path string, query url.Values, body []byte) string {
	var b strings.Builder
	b.WriteString(path)
	if query.Has("clientToken") {
		query = maps.Clone(query)
		query.Del("clientToken")
	}
	if len(query) > 0 {
		b.WriteString("?" + query.Encode())
	}
	if len(bytes.TrimSpace(body)) > 0 {
		b.WriteString(" ")
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			if m, ok := v.(map[string]any); ok {
				delete(m, "clientToken")
			}
			if canon, err := json.Marshal(v); err == nil {
				body = canon
			}
		}
		b.Write(body)
	}
	return b.String()
}

// decodeBody reads a REST-JSON request body into v; an empty body leaves v
// zero, as the SDK sends no body for inputs without document members.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		e := validationException("cannot parse request body: %v", err)
		e.Reason = "cannotParse"
		return e
	}
	return nil
}

// checkAnalyzer resolves an analyzerArn parameter against the one analyzer
// the snapshot holds.
func (s *Server) checkAnalyzer(arn string) *apiError {
	if arn == "" {
		return validationException("analyzerArn is required")
	}
	if a := s.st.analyzer; a.Arn != arn {
		return resourceNotFound(arn, "AWS::AccessAnalyzer::Analyzer", "Analyzer %s not found", arn)
	}
	return nil
}

// aaPage pages total items with maxResults and nextToken.
func (s *Server) aaPage(maxResults int, token string, total int, scope string) (page, *apiError) {
	limit, ok := s.pageLimit(maxResults)
	if !ok {
		return page{}, validationException("maxResults must be between 1 and %d, got %d", maxPageSize, maxResults)
	}
	pg, err := paginate(total, token, limit, scope)
	if err != nil {
		return page{}, validationException("Invalid nextToken")
	}
	return pg, nil
}

// queryInt reads an optional integer query parameter; 0 when absent.
func queryInt(q url.Values, name string) (int, *apiError) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, validationException("%s must be an integer, got %q", name, v)
	}
	return n, nil
}

var analyzerTypes = []string{
	"ACCOUNT", "ORGANIZATION", "ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS",
	"ACCOUNT_INTERNAL_ACCESS", "ORGANIZATION_INTERNAL_ACCESS",
}

func (s *Server) listAnalyzers(r restRequest) (any, *apiError) {
	typ := r.Query.Get("type")
	if typ != "" && !slices.Contains(analyzerTypes, typ) {
		return nil, validationException("type must be one of %v, got %q", analyzerTypes, typ)
	}
	var all []snapshot.Analyzer
	if a := s.st.analyzer; typ == "" || a.Type == typ {
		all = append(all, a)
	}
	maxResults, aerr := queryInt(r.Query, "maxResults")
	if aerr != nil {
		return nil, aerr
	}
	pg, aerr := s.aaPage(maxResults, r.Query.Get("nextToken"), len(all), "ListAnalyzers|"+typ)
	if aerr != nil {
		return nil, aerr
	}
	out := listAnalyzersOutput{Analyzers: []jsonAnalyzer{}, NextToken: pg.Next}
	for _, a := range all[pg.Start:pg.End] {
		out.Analyzers = append(out.Analyzers, analyzerJSON(a))
	}
	return out, nil
}

func (s *Server) getAnalyzer(r restRequest) (any, *apiError) {
	a := s.st.analyzer
	if a.Name != r.Arg {
		return nil, resourceNotFound(r.Arg, "AWS::AccessAnalyzer::Analyzer", "Analyzer %s not found", r.Arg)
	}
	return getAnalyzerOutput{Analyzer: analyzerJSON(a)}, nil
}

func (s *Server) getFindingV2(r restRequest) (any, *apiError) {
	if aerr := s.checkAnalyzer(r.Query.Get("analyzerArn")); aerr != nil {
		return nil, aerr
	}
	f := s.st.findingByID[r.Arg]
	if f == nil {
		return nil, resourceNotFound(r.Arg, "AWS::AccessAnalyzer::Finding", "Finding %s not found", r.Arg)
	}
	maxResults, aerr := queryInt(r.Query, "maxResults")
	if aerr != nil {
		return nil, aerr
	}
	pg, aerr := s.aaPage(maxResults, r.Query.Get("nextToken"), len(f.FindingDetails), "GetFindingV2|"+f.Id)
	if aerr != nil {
		return nil, aerr
	}
	out := getFindingV2Output{jsonFindingSummary: findingSummary(f), FindingDetails: []map[string]any{}, NextToken: pg.Next}
	for _, d := range f.FindingDetails[pg.Start:pg.End] {
		out.FindingDetails = append(out.FindingDetails, detailJSON(d))
	}
	return out, nil
}

// listFindingsV2Input is the request body of ListFindingsV2.
type listFindingsV2Input struct {
	AnalyzerArn string               `json:"analyzerArn"`
	Filter      map[string]Criterion `json:"filter"`
	MaxResults  int                  `json:"maxResults"`
	NextToken   string               `json:"nextToken"`
	Sort        *sortCriteria        `json:"sort"`
}

type sortCriteria struct {
	AttributeName string `json:"attributeName"`
	OrderBy       string `json:"orderBy"`
}

func (s *Server) listFindingsV2(r restRequest) (any, *apiError) {
	var in listFindingsV2Input
	if aerr := decodeBody(r.Body, &in); aerr != nil {
		return nil, aerr
	}
	if aerr := s.checkAnalyzer(in.AnalyzerArn); aerr != nil {
		return nil, aerr
	}
	if aerr := validateFilter(in.Filter); aerr != nil {
		return nil, aerr
	}
	var found []*snapshot.Finding
	for _, f := range s.st.findings {
		if matchFilter(in.Filter, f) {
			found = append(found, f)
		}
	}
	if aerr := sortFindings(found, in.Sort); aerr != nil {
		return nil, aerr
	}
	// The token is bound to the filter and sort it was issued for.
	scopeJSON, _ := json.Marshal(struct {
		F map[string]Criterion
		S *sortCriteria
	}{in.Filter, in.Sort})
	pg, aerr := s.aaPage(in.MaxResults, in.NextToken, len(found), "ListFindingsV2|"+string(scopeJSON))
	if aerr != nil {
		return nil, aerr
	}
	out := listFindingsV2Output{Findings: []jsonFindingSummary{}, NextToken: pg.Next}
	for _, f := range found[pg.Start:pg.End] {
		out.Findings = append(out.Findings, findingSummary(f))
	}
	return out, nil
}

func sortFindings(fs []*snapshot.Finding, sc *sortCriteria) *apiError {
	if sc == nil || sc.AttributeName == "" {
		return nil
	}
	get := findingFields[sc.AttributeName]
	if get == nil {
		return validationException("sort attributeName %q is not supported (want one of %v)", sc.AttributeName, sortedKeys(findingFields))
	}
	desc := false
	switch sc.OrderBy {
	case "", "ASC":
	case "DESC":
		desc = true
	default:
		return validationException("sort orderBy must be ASC or DESC, got %q", sc.OrderBy)
	}
	slices.SortStableFunc(fs, func(a, b *snapshot.Finding) int {
		c := strings.Compare(get(a), get(b))
		if desc {
			return -c
		}
		return c
	})
	return nil
}
