package emulator

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/accessanalyzer"
	aatypes "github.com/aws/aws-sdk-go-v2/service/accessanalyzer/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func authFor(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=deadbeef"
}

// rawRequest sends a hand-made request, for what the SDK cannot send.
func rawRequest(t *testing.T, base, method, path, auth, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// errorCode extracts the AWS error code from any of the three error shapes.
func errorCode(t *testing.T, h http.Header, body []byte) (code, shape string) {
	t.Helper()
	var q xmlErrorResponse
	if xml.Unmarshal(body, &q) == nil && q.Error.Code != "" {
		if q.RequestID == "" {
			t.Errorf("query error without RequestId: %s", body)
		}
		return q.Error.Code, "query:" + q.Xmlns
	}
	var s s3Error
	if xml.Unmarshal(body, &s) == nil && s.Code != "" {
		return s.Code, "s3"
	}
	var j struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil && h.Get("X-Amzn-Errortype") != "" {
		if j.Message == "" {
			t.Errorf("JSON error without message: %s", body)
		}
		return h.Get("X-Amzn-Errortype"), "json"
	}
	t.Fatalf("not an AWS error: %s", body)
	return "", ""
}

func TestDispatch(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, auth, contentType, body string
		status                                      int
		code, shape                                 string
	}{
		{"no auth, query", "POST", "/", "", form, "Action=ListUsers&Version=2010-05-08", 403, "MissingAuthenticationToken", "query:"},
		{"no auth, rest", "GET", "/analyzer", "", "", "", 403, "MissingAuthenticationToken", "json"},
		{"garbled auth", "POST", "/", "AWS4-HMAC-SHA256 Credential=nonsense", form, "Action=ListUsers", 403, "IncompleteSignature", "query:"},
		{"no credential", "GET", "/analyzer", "AWS4-HMAC-SHA256 Signature=abc", "", "", 403, "IncompleteSignature", "json"},
		{"unknown algorithm", "GET", "/analyzer", "Bearer xyz", "", "", 403, "IncompleteSignature", "json"},
		{"sqs over the old query protocol", "POST", "/", authFor("sqs"), form, "Action=SendMessage&Version=2012-11-05", 400, "UnsupportedProtocol", "query:"},
		{"sqs json without target", "POST", "/", authFor("sqs"), "application/x-amz-json-1.0", "{}", 400, "UnsupportedProtocol", "json"},
		{"sns publish without topic", "POST", "/", authFor("sns"), form, "Action=Publish&Version=2010-03-31&Message=m", 400, "InvalidParameter", "query:http://sns.amazonaws.com/doc/2010-03-31/"},
		{"sns unsupported action", "POST", "/", authFor("sns"), form, "Action=Subscribe&Version=2010-03-31", 400, "InvalidAction", "query:http://sns.amazonaws.com/doc/2010-03-31/"},
		{"s3 missing bucket", "GET", "/bucket/key", authFor("s3"), "", "", 404, "NoSuchBucket", "s3"},
		{"s3 list buckets", "GET", "/", authFor("s3"), "", "", 501, "NotImplemented", "s3"},
		{"other service", "POST", "/", authFor("lambda"), "application/json", "{}", 501, "NotImplemented", "json"},
		// The signing name decides, not the body: an IAM action signed for STS.
		{"iam action sent to sts", "POST", "/", authFor("sts"), form, "Action=GetUser&Version=2011-06-15", 400, "InvalidAction", "query:https://sts.amazonaws.com/doc/2011-06-15/"},
		{"iam missing action", "POST", "/", authFor("iam"), form, "Version=2010-05-08", 400, "MissingAction", "query:https://iam.amazonaws.com/doc/2010-05-08/"},
		{"iam missing role name", "POST", "/", authFor("iam"), form, "Action=GetRole&Version=2010-05-08", 400, "ValidationError", "query:https://iam.amazonaws.com/doc/2010-05-08/"},
		{"analyzer unknown route", "DELETE", "/analyzer/x", authFor("access-analyzer"), "", "", 404, "UnknownOperationException", "json"},
		{"analyzer bad body", "POST", "/findingv2", authFor("access-analyzer"), "application/json", "{not json", 400, "ValidationException", "json"},
		{"analyzer missing arn", "GET", "/findingv2/f-role-ci", authFor("access-analyzer"), "", "", 400, "ValidationException", "json"},
	}
	env := newEnv(t, "basic", Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := rawRequest(t, env.url, tt.method, tt.path, tt.auth, tt.contentType, tt.body)
			if status != tt.status {
				t.Errorf("status = %d, want %d (%s)", status, tt.status, body)
			}
			code, shape := errorCode(t, h, body)
			if code != tt.code || shape != tt.shape {
				t.Errorf("error = %s (%s), want %s (%s): %s", code, shape, tt.code, tt.shape, body)
			}
		})
	}
}

func TestCallLogAndDuplicates(t *testing.T) {
	env := newEnv(t, "basic", Options{})
	ctx := context.Background()
	for _, name := range []string{"alice", "bob", "alice"} {
		if _, err := env.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	in := &accessanalyzer.GetFindingV2Input{AnalyzerArn: aws.String(basicAnalyzerARN), Id: aws.String("f-role-ci")}
	for range 2 {
		if _, err := env.aa.GetFindingV2(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	calls := env.srv.Calls()
	if len(calls) != 5 {
		t.Fatalf("calls = %+v", calls)
	}
	if want := (Call{Service: "iam", Operation: "GetUser", Params: "UserName=alice"}); calls[0] != want {
		t.Errorf("first call = %+v, want %+v", calls[0], want)
	}
	wantAA := Call{Service: "access-analyzer", Operation: "GetFindingV2",
		Params: "/findingv2/f-role-ci?analyzerArn=arn%3Aaws%3Aaccess-analyzer%3Aus-east-1%3A111122223333%3Aanalyzer%2Fiamprune-unused-access"}
	if calls[3] != wantAA {
		t.Errorf("AA call = %+v, want %+v", calls[3], wantAA)
	}
	dups := env.srv.Duplicates()
	if len(dups) != 2 || dups[0] != calls[0] || dups[1] != wantAA {
		t.Errorf("duplicates = %+v", dups)
	}
	env.srv.ResetCalls()
	if len(env.srv.Calls()) != 0 || len(env.srv.Duplicates()) != 0 {
		t.Error("ResetCalls left calls behind")
	}
}

func TestRESTParamsCanonical(t *testing.T) {
	a := restParams("/findingv2", nil, []byte(`{"maxResults": 2, "analyzerArn": "x", "filter": {"b": {"eq": ["1"]}, "a": {"exists": true}}}`))
	b := restParams("/findingv2", nil, []byte(`{"filter":{"a":{"exists":true},"b":{"eq":["1"]}},"analyzerArn":"x","maxResults":2}`))
	if a != b {
		t.Errorf("equal bodies render differently:\n%s\n%s", a, b)
	}
	if c := restParams("/findingv2", nil, []byte(`{"analyzerArn":"y"}`)); c == a {
		t.Error("different bodies render the same")
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	env := newEnv(t, "basic", Options{ThrottleEvery: 3, PageSize: 2})
	ctx := context.Background()
	var users int
	up := iam.NewListUsersPaginator(env.iam, &iam.ListUsersInput{})
	for up.HasMorePages() {
		out, err := up.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListUsers not recovered: %v", err)
		}
		users += len(out.Users)
	}
	if _, err := env.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity not recovered: %v", err)
	}
	var findings int
	fp := accessanalyzer.NewListFindingsV2Paginator(env.aa, &accessanalyzer.ListFindingsV2Input{AnalyzerArn: aws.String(basicAnalyzerARN)})
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListFindingsV2 not recovered: %v", err)
		}
		findings += len(out.Findings)
	}
	if users != 3 || findings != 6 {
		t.Errorf("users %d findings %d, want 3 and 6", users, findings)
	}
	// 2 + 1 + 3 real calls; every third request was throttled and retried.
	calls, throttled := env.srv.Calls(), env.srv.Throttled()
	if len(calls) != 6 || len(throttled) != 2 {
		t.Errorf("calls %d throttled %d, want 6 and 2", len(calls), len(throttled))
	}
	services := map[string]bool{}
	for _, th := range throttled {
		services[th.Service] = true
	}
	if len(services) < 2 {
		t.Errorf("throttling hit only %v; want both protocols exercised", services)
	}
	if d := env.srv.Duplicates(); len(d) != 0 {
		t.Errorf("retries of throttled requests counted as duplicates: %v", d)
	}
}

func TestThrottlingErrorShapes(t *testing.T) {
	snap := loadSnapshot(t, "basic")
	srv := New(snap, Options{ThrottleEvery: 1})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	cfg := sdkConfig(1) // no retries: see the error itself
	ctx := context.Background()

	_, err = iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(url) }).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "Throttling", 400)
	_, err = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "Throttling", 400)
	_, err = accessanalyzer.NewFromConfig(cfg, func(o *accessanalyzer.Options) { o.BaseEndpoint = aws.String(url) }).
		ListAnalyzers(ctx, &accessanalyzer.ListAnalyzersInput{})
	var te *aatypes.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("want *types.ThrottlingException, got %v", err)
	}
	wantAPIError(t, err, "ThrottlingException", 429)
	if len(srv.Calls()) != 0 || len(srv.Throttled()) != 3 {
		t.Errorf("calls %d throttled %d, want 0 and 3", len(srv.Calls()), len(srv.Throttled()))
	}
}

func TestStartClose(t *testing.T) {
	srv := New(loadSnapshot(t, "basic"), Options{})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url = %s", url)
	}
	if _, err := srv.Start("127.0.0.1:0"); err == nil {
		t.Error("second Start succeeded")
	}
	client := sts.NewFromConfig(sdkConfig(1), func(o *sts.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err == nil {
		t.Error("request succeeded after Close")
	}
	if err := srv.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSigningName(t *testing.T) {
	tests := []struct {
		auth, service, code string
	}{
		{authFor("iam"), "iam", ""},
		{authFor("access-analyzer"), "access-analyzer", ""},
		{"AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=x", "sts", ""},
		{"", "", "MissingAuthenticationToken"},
		{"   ", "", "MissingAuthenticationToken"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1//aws4_request", "", "IncompleteSignature"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/iam/other", "", "IncompleteSignature"},
		{"AWS AKID:signature", "", "IncompleteSignature"},
	}
	for _, tt := range tests {
		got, err := signingName(tt.auth)
		code := ""
		if err != nil {
			code = err.Code
		}
		if got != tt.service || code != tt.code {
			t.Errorf("signingName(%q) = %q, %q; want %q, %q", tt.auth, got, code, tt.service, tt.code)
		}
	}
}
