package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune/archive"
)

// fakeArchive is a stateful Access Analyzer speaking the REST-JSON wire
// format of the archive-rule and finding-status operations. It pages every
// list by pageSize and records each request as "METHOD path".
type fakeArchive struct {
	t        *testing.T
	analyzer string // ARN
	pageSize int

	mu       sync.Mutex
	rules    map[string]map[string]wireCriterion
	findings []wireFinding
	requests []string
	tokens   []string // clientToken of each write
	batches  [][]string
}

type wireCriterion struct {
	Eq       []string `json:"eq,omitempty"`
	Neq      []string `json:"neq,omitempty"`
	Contains []string `json:"contains,omitempty"`
	Exists   *bool    `json:"exists,omitempty"`
}

type wireFinding struct {
	ID          string `json:"id"`
	Resource    string `json:"resource"`
	FindingType string `json:"findingType"`
	Status      string `json:"status"`
}

func (f *fakeArchive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if svc := signingName(auth); svc != "access-analyzer" {
		f.t.Errorf("signing name %q, want access-analyzer", svc)
	}
	if !strings.Contains(auth, "/eu-west-1/access-analyzer/") {
		f.t.Errorf("request not signed for the analyzer's region: %s", auth)
	}
	body, _ := io.ReadAll(r.Body)
	var in struct {
		RuleName    string                   `json:"ruleName"`
		Filter      map[string]wireCriterion `json:"filter"`
		ClientToken string                   `json:"clientToken"`
		AnalyzerArn string                   `json:"analyzerArn"`
		Status      string                   `json:"status"`
		Ids         []string                 `json:"ids"`
		NextToken   string                   `json:"nextToken"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			f.t.Errorf("%s %s: bad JSON body: %v", r.Method, r.URL.Path, err)
		}
	}
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath())
	q := r.URL.Query()
	if r.Method != http.MethodGet && r.URL.Path != "/findingv2" {
		f.tokens = append(f.tokens, in.ClientToken+q.Get("clientToken"))
	}
	const rulesPath = "/analyzer/unused/archive-rule" // testAnalyzer's name
	rule, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), rulesPath+"/"))

	switch {
	case r.Method == http.MethodGet && r.URL.Path == rulesPath:
		names := slices.Sorted(maps.Keys(f.rules))
		var page []map[string]any
		for _, n := range names {
			page = append(page, map[string]any{"ruleName": n, "filter": f.rules[n], "createdAt": "2026-11-01T00:00:00Z", "updatedAt": "2026-11-01T00:00:00Z"})
		}
		page, next := paged(page, q.Get("nextToken"), f.pageSize)
		reply(w, 200, map[string]any{"archiveRules": orEmpty(page), "nextToken": next})
	case r.Method == http.MethodPut && r.URL.Path == rulesPath:
		if _, ok := f.rules[in.RuleName]; ok {
			fail(w, 409, "ConflictException", "rule exists")
			return
		}
		f.rules[in.RuleName] = in.Filter
		w.WriteHeader(200)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, rulesPath+"/"):
		if _, ok := f.rules[rule]; !ok {
			fail(w, 404, "ResourceNotFoundException", "no rule "+rule)
			return
		}
		f.rules[rule] = in.Filter
		w.WriteHeader(200)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, rulesPath+"/"):
		if _, ok := f.rules[rule]; !ok {
			fail(w, 404, "ResourceNotFoundException", "no rule "+rule)
			return
		}
		delete(f.rules, rule)
		w.WriteHeader(200)
	case r.Method == http.MethodPut && r.URL.Path == "/archive-rule":
		filter, ok := f.rules[in.RuleName]
		if in.AnalyzerArn != f.analyzer || !ok {
			fail(w, 404, "ResourceNotFoundException", "no rule "+in.RuleName)
			return
		}
		rule := archive.Rule{Name: in.RuleName, Filter: map[string]archive.Criterion{}}
		for k, c := range filter {
			rule.Filter[k] = archive.Criterion(c)
		}
		for i, fd := range f.findings {
			if fd.Status == "ACTIVE" && archive.Covered(rule, fd.Resource, fd.FindingType) {
				f.findings[i].Status = "ARCHIVED"
			}
		}
		w.WriteHeader(200)
	case r.Method == http.MethodPost && r.URL.Path == "/findingv2":
		var want string
		if in.Filter != nil && len(in.Filter["status"].Eq) == 1 {
			want = in.Filter["status"].Eq[0]
		}
		var page []wireFinding
		for _, fd := range f.findings {
			if want == "" || fd.Status == want {
				page = append(page, fd)
			}
		}
		page, next := paged(page, in.NextToken, f.pageSize)
		reply(w, 200, map[string]any{"findings": orEmpty(page), "nextToken": next})
	case r.Method == http.MethodPut && r.URL.Path == "/finding":
		if in.AnalyzerArn != f.analyzer || in.Status != "ACTIVE" {
			fail(w, 400, "ValidationException", "bad UpdateFindings "+string(body))
			return
		}
		f.batches = append(f.batches, in.Ids)
		for i, fd := range f.findings {
			if slices.Contains(in.Ids, fd.ID) {
				f.findings[i].Status = "ACTIVE"
			}
		}
		w.WriteHeader(200)
	default:
		f.t.Errorf("fake access analyzer: unexpected %s %s", r.Method, r.URL)
		fail(w, 400, "ValidationException", "unexpected request")
	}
}

// paged returns the page starting at token (an index) and the next token.
func paged[T any](all []T, token string, size int) ([]T, *string) {
	start, _ := strconv.Atoi(token)
	end := min(start+size, len(all))
	if end >= len(all) {
		return all[start:], nil
	}
	next := strconv.Itoa(end)
	return all[start:end], &next
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	reply(w, status, map[string]string{"message": msg})
}

func newFakeArchive(t *testing.T) (*fakeArchive, *ArchiveRules) {
	f := &fakeArchive{t: t, analyzer: testAnalyzer, pageSize: 1, rules: map[string]map[string]wireCriterion{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-west-2", // not the analyzer's: NewArchiveRules must call its region
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return f, NewArchiveRules(cfg, AnalyzerRegion(testAnalyzer))
}

func TestAnalyzerNameAndRegion(t *testing.T) {
	if got := AnalyzerName(testAnalyzer); got != "unused" {
		t.Errorf("AnalyzerName = %q", got)
	}
	if got := AnalyzerRegion(testAnalyzer); got != "eu-west-1" {
		t.Errorf("AnalyzerRegion = %q", got)
	}
	if AnalyzerName("auto") != "" || AnalyzerRegion("auto") != "" {
		t.Error("not an ARN gave a name or region")
	}
}

func TestArchiveRules(t *testing.T) {
	ctx := context.Background()
	f, rules := newFakeArchive(t)
	const alice, bob = "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/bob"
	yes := true
	f.rules["sandbox"] = map[string]wireCriterion{"resource": {Contains: []string{"sandbox"}, Exists: &yes}}
	f.findings = []wireFinding{
		{ID: "f1", Resource: alice, FindingType: "UnusedIAMUserPassword", Status: "ACTIVE"},
		{ID: "f2", Resource: alice, FindingType: "UnusedPermission", Status: "ACTIVE"},
		{ID: "f3", Resource: bob, FindingType: "UnusedIAMRole", Status: "ACTIVE"},
	}
	// Names with dots and several pages of rules.
	created := []archive.Rule{
		{Name: "iamprune-UnusedIAMUserPassword.UnusedIAMRole-1", Filter: map[string]archive.Criterion{
			"resource": {Eq: []string{alice, bob}}, "findingType": {Eq: []string{"UnusedIAMUserPassword", "UnusedIAMRole"}}}},
		{Name: "iamprune-all-1", Filter: map[string]archive.Criterion{"resource": {Eq: []string{"arn:aws:iam::111122223333:user/carol"}}}},
	}
	for _, r := range created {
		if err := rules.Create(ctx, "unused", r); err != nil {
			t.Fatal(err)
		}
		if err := rules.Apply(ctx, testAnalyzer, r.Name); err != nil {
			t.Fatal(err)
		}
	}
	if err := rules.Create(ctx, "unused", created[1]); err == nil || !strings.Contains(err.Error(), "cannot create archive rule iamprune-all-1 of analyzer unused") {
		t.Errorf("duplicate create: err = %v", err)
	}
	got, err := rules.List(ctx, "unused")
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(created), archive.Rule{Name: "sandbox", Filter: map[string]archive.Criterion{"resource": {Contains: []string{"sandbox"}, Exists: &yes}}})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}

	archived, err := rules.ArchivedFindings(ctx, testAnalyzer)
	if err != nil {
		t.Fatal(err)
	}
	wantArchived := []archive.Finding{{ID: "f1", Resource: alice, Type: "UnusedIAMUserPassword"}, {ID: "f3", Resource: bob, Type: "UnusedIAMRole"}}
	if !reflect.DeepEqual(archived, wantArchived) {
		t.Errorf("ArchivedFindings = %+v, want %+v", archived, wantArchived)
	}

	narrowed := archive.Rule{Name: created[0].Name, Filter: map[string]archive.Criterion{"resource": {Eq: []string{alice}}, "findingType": {Eq: []string{"UnusedIAMUserPassword"}}}}
	if err := rules.Update(ctx, "unused", narrowed); err != nil {
		t.Fatal(err)
	}
	if err := rules.Delete(ctx, "unused", "iamprune-all-1"); err != nil {
		t.Fatal(err)
	}
	if err := rules.Delete(ctx, "unused", "iamprune-all-1"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("second delete: err = %v", err)
	}
	if err := rules.Unarchive(ctx, testAnalyzer, []string{"f3"}); err != nil {
		t.Fatal(err)
	}
	if f.findings[2].Status != "ACTIVE" || f.findings[0].Status != "ARCHIVED" {
		t.Errorf("findings after unarchive: %+v", f.findings)
	}
	if !reflect.DeepEqual(f.rules[narrowed.Name], map[string]wireCriterion{"resource": {Eq: []string{alice}}, "findingType": {Eq: []string{"UnusedIAMUserPassword"}}}) {
		t.Errorf("updated rule on the wire = %+v", f.rules[narrowed.Name])
	}

	wantRequests := []string{
		"PUT /analyzer/unused/archive-rule", "PUT /archive-rule",
		"PUT /analyzer/unused/archive-rule", "PUT /archive-rule",
		"PUT /analyzer/unused/archive-rule",
		"GET /analyzer/unused/archive-rule", "GET /analyzer/unused/archive-rule", "GET /analyzer/unused/archive-rule",
		"POST /findingv2", "POST /findingv2",
		"PUT /analyzer/unused/archive-rule/iamprune-UnusedIAMUserPassword.UnusedIAMRole-1",
		"DELETE /analyzer/unused/archive-rule/iamprune-all-1", "DELETE /analyzer/unused/archive-rule/iamprune-all-1",
		"PUT /finding",
	}
	if !reflect.DeepEqual(f.requests, wantRequests) {
		t.Errorf("requests =\n%s\nwant\n%s", strings.Join(f.requests, "\n"), strings.Join(wantRequests, "\n"))
	}
	// Every write carries a client token, a fresh one each time.
	seen := map[string]bool{}
	for _, tok := range f.tokens {
		if tok == "" || seen[tok] {
			t.Errorf("client tokens %q: empty or repeated", f.tokens)
			break
		}
		seen[tok] = true
	}
}

func TestUnarchiveBatches(t *testing.T) {
	f, rules := newFakeArchive(t)
	var ids []string
	for i := range 2*unarchiveBatch + 3 {
		id := fmt.Sprintf("f%02d", i)
		ids = append(ids, id)
		f.findings = append(f.findings, wireFinding{ID: id, Resource: "arn:aws:iam::111122223333:user/u", FindingType: "UnusedIAMRole", Status: "ARCHIVED"})
	}
	if err := rules.Unarchive(context.Background(), testAnalyzer, ids); err != nil {
		t.Fatal(err)
	}
	want := [][]string{ids[:unarchiveBatch], ids[unarchiveBatch : 2*unarchiveBatch], ids[2*unarchiveBatch:]}
	if !reflect.DeepEqual(f.batches, want) {
		t.Errorf("batches = %v, want %v", f.batches, want)
	}
	for _, fd := range f.findings {
		if fd.Status != "ACTIVE" {
			t.Errorf("finding %s is %s", fd.ID, fd.Status)
		}
	}
	if err := rules.Unarchive(context.Background(), testAnalyzer, nil); err != nil || len(f.batches) != 3 {
		t.Errorf("no ids: err %v, %d calls", err, len(f.batches))
	}
}
