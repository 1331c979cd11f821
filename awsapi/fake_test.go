package awsapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeAWS replays canned wire responses for IAM, STS (query protocol, XML)
// and Access Analyzer (REST-JSON). A response is keyed by
// service.Operation[.subject][.token], where subject is the UserName or
// finding id and token the Marker or nextToken of the request. Like an HTTP
// mock registry it fails the test on a call with no response and, through
// unused, lets tests fail on responses never asked for.
type fakeAWS struct {
	t         *testing.T
	mu        sync.Mutex
	responses map[string]fakeResponse
	calls     []string
	// check, if set, inspects each request before it is answered.
	check func(key string, r *http.Request, body []byte)
}

type fakeResponse struct {
	status int
	body   string
}

func newFake(t *testing.T) *fakeAWS {
	return &fakeAWS{t: t, responses: map[string]fakeResponse{}}
}

// add registers a response. A status other than 200 makes it an error.
func (f *fakeAWS) add(key string, status int, body string) {
	f.responses[key] = fakeResponse{status, body}
}

var (
	statusSuffix = regexp.MustCompile(`\.(\d{3})$`)
	fixtureName  = regexp.MustCompile(`^(iam|sts|access-analyzer)\.`)
)

// load registers every file of dir: the file name without its extension is
// the key, optionally followed by .STATUS (iam.GetLoginProfile.bob.404.xml).
func (f *fakeAWS) load(dir string) {
	f.t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !fixtureName.MatchString(e.Name()) || (ext != ".xml" && ext != ".json") {
			continue // findings.json, want.json, ...
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		key, status := strings.TrimSuffix(e.Name(), ext), 200
		if m := statusSuffix.FindStringSubmatch(key); m != nil {
			status, _ = strconv.Atoi(m[1])
			key = strings.TrimSuffix(key, m[0])
		}
		f.add(key, status, string(b))
	}
}

// start serves the fake and returns a config whose clients talk to it
// without retries, with c attached when non-nil.
func (f *fakeAWS) start(c *Counter) aws.Config {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	if c != nil {
		c.Attach(&cfg)
	}
	return cfg
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	service := signingName(r.Header.Get("Authorization"))
	key := service + "." + f.operation(service, r, body)
	if f.check != nil {
		f.check(key, r, body)
	}
	f.mu.Lock()
	f.calls = append(f.calls, key)
	resp, ok := f.responses[key]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake AWS: no response for %s", key)
		resp = fakeResponse{400, `<ErrorResponse><Error><Code>ValidationError</Code><Message>no fake response</Message></Error></ErrorResponse>`}
		if service == "access-analyzer" {
			w.Header().Set("X-Amzn-Errortype", "ValidationException")
			resp.body = `{"message":"no fake response"}`
		}
	}
	if service == "access-analyzer" {
		w.Header().Set("Content-Type", "application/json")
		if resp.status != 200 {
			w.Header().Set("X-Amzn-Errortype", errorType(resp.body))
		}
	} else {
		w.Header().Set("Content-Type", "text/xml")
	}
	w.WriteHeader(resp.status)
	io.WriteString(w, resp.body)
}

// errorType reads the "__type" a JSON error fixture names.
func errorType(body string) string {
	var v struct {
		Type string `json:"__type"`
	}
	json.Unmarshal([]byte(body), &v)
	return v.Type
}

// operation names the request and appends its subject and page token.
func (f *fakeAWS) operation(service string, r *http.Request, body []byte) string {
	parts := []string{}
	if service == "access-analyzer" {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/analyzer":
			parts = append(parts, "ListAnalyzers", q.Get("nextToken"))
		case r.Method == http.MethodPost && r.URL.Path == "/findingv2":
			var in struct {
				NextToken string `json:"nextToken"`
			}
			json.Unmarshal(body, &in)
			parts = append(parts, "ListFindingsV2", in.NextToken)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/findingv2/"):
			parts = append(parts, "GetFindingV2", strings.TrimPrefix(r.URL.Path, "/findingv2/"), q.Get("nextToken"))
		default:
			parts = append(parts, r.Method+" "+r.URL.Path)
		}
	} else {
		form, _ := url.ParseQuery(string(body))
		parts = append(parts, form.Get("Action"), form.Get("UserName"), form.Get("AccessKeyId"), form.Get("Marker"))
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), ".")
}

// signingName returns the service of a SigV4 Authorization header:
// Credential=AKID/DATE/REGION/SERVICE/aws4_request.
func signingName(auth string) string {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "unsigned"
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 4 {
		return "unsigned"
	}
	return parts[3]
}

// Calls returns the keys called so far.
func (f *fakeAWS) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// checkCalls fails the test on a response never used or a call made twice.
func (f *fakeAWS) checkCalls() {
	f.t.Helper()
	seen := map[string]int{}
	for _, c := range f.Calls() {
		seen[c]++
	}
	for k, n := range seen {
		if n > 1 {
			f.t.Errorf("fake AWS: %s called %d times", k, n)
		}
	}
	for k := range f.responses {
		if seen[k] == 0 {
			f.t.Errorf("fake AWS: response %s never used", k)
		}
	}
}

// pagedRoles serves n ACTIVE unused-role findings, listed by
// ListFindingsV2 in pages of pageSize, with ids (and role names) of
// idFormat ("f%02d"), each with its GetFindingV2 answer.
func (f *fakeAWS) pagedRoles(n, pageSize int, idFormat string) {
	for page := 0; page*pageSize < n; page++ {
		var ids []string
		for i := page * pageSize; i < min(n, (page+1)*pageSize); i++ {
			ids = append(ids, `{"id":"`+fmt.Sprintf(idFormat, i)+`"}`)
		}
		key, next := "access-analyzer.ListFindingsV2", ""
		if page > 0 {
			key += fmt.Sprintf(".t%d", page)
		}
		if (page+1)*pageSize < n {
			next = fmt.Sprintf(`,"nextToken":"t%d"`, page+1)
		}
		f.add(key, 200, `{"findings":[`+strings.Join(ids, ",")+`]`+next+`}`)
	}
	for i := range n {
		id := fmt.Sprintf(idFormat, i)
		f.add("access-analyzer.GetFindingV2."+id, 200, `{"id":"`+id+`","findingType":"UnusedIAMRole","status":"ACTIVE","resource":"arn:aws:iam::111122223333:role/r`+id[1:]+
			`","resourceType":"AWS::IAM::Role","resourceOwnerAccount":"111122223333","findingDetails":[{"unusedIamRoleDetails":{}}]}`)
	}
}
