package awsapi

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/exceptions"
)

// fakeS3 is a path-style S3 speaking the REST-XML wire format of
// GetObject, HeadObject and PutObject, with MD5 ETags and If-None-Match.
type fakeS3 struct {
	t       *testing.T
	mu      sync.Mutex
	objects map[string]fakeObject // by "/bucket/key"
	log     []string              // "METHOD /bucket/key STATUS"
	sent    int                   // object bodies sent
}

type fakeObject struct {
	body []byte
	meta map[string]string
}

func (o fakeObject) etag() string {
	sum := md5.Sum(o.body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if svc := signingName(r.Header.Get("Authorization")); svc != "s3" {
		f.t.Errorf("signing name %q, want s3", svc)
	}
	// Path style: the bucket is in the path, never in the host name.
	if host := r.Host; strings.Count(host, ".") > 0 && !strings.HasPrefix(host, "127.") {
		f.t.Errorf("virtual-host request to %s; want path style", host)
	}
	obj, ok := f.objects[r.URL.Path]
	status := http.StatusOK
	switch r.Method {
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		if enc := r.Header.Get("Content-Encoding"); strings.Contains(enc, "aws-chunked") {
			f.t.Errorf("PutObject body is %s encoded; the fake reads plain bodies", enc)
		}
		o := fakeObject{body: body, meta: map[string]string{}}
		for k, v := range r.Header {
			if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok {
				o.meta[name] = v[0]
			}
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			o.meta["content-type"] = ct
		}
		f.objects[r.URL.Path] = o
		w.Header().Set("ETag", o.etag())
	case http.MethodGet, http.MethodHead:
		switch {
		case !ok:
			status = http.StatusNotFound
		case r.Header.Get("If-None-Match") == obj.etag():
			status = http.StatusNotModified
		}
		if status == http.StatusOK || status == http.StatusNotModified {
			w.Header().Set("ETag", obj.etag())
		}
		if status == http.StatusOK {
			for k, v := range obj.meta {
				if k != "content-type" {
					w.Header().Set("x-amz-meta-"+k, v)
				}
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(obj.body)))
		}
	default:
		f.t.Errorf("fake S3: unexpected %s %s", r.Method, r.URL)
		status = http.StatusBadRequest
	}
	f.log = append(f.log, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, status))
	if status == http.StatusNotFound && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`)
		return
	}
	w.WriteHeader(status)
	if status == http.StatusOK && r.Method == http.MethodGet {
		f.sent++
		w.Write(obj.body)
	}
}

// newFakeS3 serves a fake S3 and returns an S3Object made through
// LoadConfig with an endpoint override on a host name, so that only path
// style reaches the bucket.
func newFakeS3(t *testing.T) (*fakeS3, *S3Object) {
	isolateEnv(t)
	f := &fakeS3{t: t, objects: map[string]fakeObject{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg, _, err := LoadConfig(context.Background(), Options{
		Region:      "eu-west-1",
		Endpoint:    strings.Replace(srv.URL, "127.0.0.1", "localhost", 1),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, NewS3Object(cfg)
}

func TestParseS3URL(t *testing.T) {
	tests := []struct{ in, bucket, key string }{
		{"s3://b/k.yaml", "b", "k.yaml"},
		{"s3://my.bucket/dir/sub/allowlist.txt", "my.bucket", "dir/sub/allowlist.txt"},
		{"s3://b/", "", ""},
		{"s3://b", "", ""},
		{"s3:///k", "", ""},
		{"https://b.s3.amazonaws.com/k", "", ""},
		{"/tmp/x.yaml", "", ""},
	}
	for _, tt := range tests {
		b, k, err := ParseS3URL(tt.in)
		if tt.bucket == "" {
			if err == nil || iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "is not an S3 object URL (s3://bucket/key)") {
				t.Errorf("ParseS3URL(%q) = %q, %q, %v; want EINVALID", tt.in, b, k, err)
			}
			continue
		}
		if err != nil || b != tt.bucket || k != tt.key {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v; want %q, %q", tt.in, b, k, err, tt.bucket, tt.key)
		}
	}
}

func TestS3Object(t *testing.T) {
	ctx := context.Background()
	f, obj := newFakeS3(t)
	body := []byte("exceptions: []\n")
	md5sum, shasum := md5.Sum(body), sha256.Sum256(body)
	wantETag := `"` + hex.EncodeToString(md5sum[:]) + `"`

	if _, exists, err := obj.Head(ctx, "b", "list.yaml"); err != nil || exists {
		t.Fatalf("Head of a missing object = %v, %v; want not exists", exists, err)
	}
	if _, _, _, err := obj.Get(ctx, "b", "list.yaml", ""); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Fatalf("Get of a missing object: err = %v, want ENOTFOUND", err)
	}
	etag, err := obj.Put(ctx, "b", "list.yaml", body, "application/yaml")
	if err != nil || etag != wantETag {
		t.Fatalf("Put = %q, %v; want %q", etag, err, wantETag)
	}
	if got := f.objects["/b/list.yaml"].meta; got["sha256"] != hex.EncodeToString(shasum[:]) || got["content-type"] != "application/yaml" {
		t.Errorf("stored metadata = %v", got)
	}
	info, exists, err := obj.Stat(ctx, "b", "list.yaml")
	if err != nil || !exists || info.ETag != wantETag || info.SHA256 != hex.EncodeToString(shasum[:]) {
		t.Errorf("Stat = %+v, %v, %v", info, exists, err)
	}
	got, etag, notModified, err := obj.Get(ctx, "b", "list.yaml", "")
	if err != nil || string(got) != string(body) || etag != wantETag || notModified {
		t.Errorf("Get = %q, %q, %v, %v", got, etag, notModified, err)
	}
	got, etag, notModified, err = obj.Get(ctx, "b", "list.yaml", wantETag)
	if err != nil || got != nil || etag != wantETag || !notModified {
		t.Errorf("Get If-None-Match = %q, %q, %v, %v; want not modified", got, etag, notModified, err)
	}
	if _, _, notModified, err := obj.Get(ctx, "b", "list.yaml", `"stale"`); err != nil || notModified {
		t.Errorf("Get with a stale ETag: notModified %v, %v", notModified, err)
	}
	want := []string{
		"HEAD /b/list.yaml 404", "GET /b/list.yaml 404", "PUT /b/list.yaml 200", "HEAD /b/list.yaml 200",
		"GET /b/list.yaml 200", "GET /b/list.yaml 304", "GET /b/list.yaml 200",
	}
	if !reflect.DeepEqual(f.log, want) {
		t.Errorf("requests =\n%s\nwant\n%s", strings.Join(f.log, "\n"), strings.Join(want, "\n"))
	}
}

func TestS3PathStyleFromEnv(t *testing.T) {
	isolateEnv(t)
	f := &fakeS3{t: t, objects: map[string]fakeObject{"/b/k.txt": {body: []byte("x")}}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	cfg, _, err := LoadConfig(context.Background(), Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, exists, err := NewS3Object(cfg).Head(context.Background(), "b", "k.txt"); err != nil || !exists {
		t.Fatalf("Head through AWS_ENDPOINT_URL = %v, %v", exists, err)
	}
}

func TestExceptionsFromS3(t *testing.T) {
	ctx := context.Background()
	f, obj := newFakeS3(t)
	const url = "s3://team-bucket/iamprune/exceptions.yaml"
	put := func(key, body string) {
		t.Helper()
		if _, err := obj.Put(ctx, "team-bucket", key, []byte(body), ""); err != nil {
			t.Fatal(err)
		}
	}
	put("iamprune/exceptions.yaml", "exceptions:\n  - principal: arn:aws:iam::111122223333:user/alice\n    reason: break-glass\n")
	l := exceptions.NewRemote(NewCachedObjects(obj))

	alice := []iamprune.Exception{{Principal: "arn:aws:iam::111122223333:user/alice", Reason: "break-glass", File: url, Line: 2}}
	for i := range 3 {
		got, err := l.Load(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(located(got), alice) {
			t.Fatalf("load %d = %+v, want %+v", i, got, alice)
		}
	}
	// The first load transferred the body, the next two got a bodiless 304.
	gets := []string{"GET /team-bucket/iamprune/exceptions.yaml 200", "GET /team-bucket/iamprune/exceptions.yaml 304", "GET /team-bucket/iamprune/exceptions.yaml 304"}
	if f.sent != 1 || !reflect.DeepEqual(f.log[1:], gets) {
		t.Errorf("bodies sent %d, requests %v; want 1 body then 304s", f.sent, f.log)
	}

	put("iamprune/exceptions.yaml", "exceptions:\n  - principal: arn:aws:iam::111122223333:role/batch\n")
	got, err := l.Load(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if want := []iamprune.Exception{{Principal: "arn:aws:iam::111122223333:role/batch", File: url, Line: 2}}; !reflect.DeepEqual(located(got), want) {
		t.Errorf("after a change = %+v, want %+v", got, want)
	}
	if f.sent != 2 {
		t.Errorf("bodies sent %d after a change, want 2", f.sent)
	}

	// A bad list is an error naming the URL and line; the loader recovers
	// once it is fixed.
	put("iamprune/exceptions.yaml", "exceptions:\n  - principal: alice\n")
	if _, err := l.Load(ctx, url); err == nil || err.Error() != url+`:2: exceptions[0].principal: "alice" is not an IAM user or role ARN` || iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("bad list: err = %v", err)
	}

	// *.txt keys are allowlists.
	put("allowlist.txt", "# approved\narn:aws:iam::111122223333:user/bob\n")
	got, err = l.Load(ctx, "s3://team-bucket/allowlist.txt")
	if want := []iamprune.Exception{{Principal: "arn:aws:iam::111122223333:user/bob", File: "s3://team-bucket/allowlist.txt", Line: 2}}; err != nil || !reflect.DeepEqual(located(got), want) {
		t.Errorf("txt = %+v, %v; want %+v", got, err, want)
	}

	for _, tt := range []struct{ url, want string }{
		{"s3://team-bucket/missing.yaml", "exceptions: exceptions file s3://team-bucket/missing.yaml does not exist"},
		{"s3://team-bucket", `s3: "s3://team-bucket" is not an S3 object URL (s3://bucket/key)`},
	} {
		if _, err := l.Load(ctx, tt.url); err == nil || err.Error() != tt.want || iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("Load(%s): err = %v, want EINVALID %q", tt.url, err, tt.want)
		}
	}
}

// located keeps what these tests check of each exception: its content and
// where it came from.
func located(es []iamprune.Exception) []iamprune.Exception {
	var out []iamprune.Exception
	for _, e := range es {
		out = append(out, iamprune.Exception{Principal: e.Principal, FindingTypes: e.FindingTypes, Services: e.Services,
			Reason: e.Reason, Owner: e.Owner, Expires: e.Expires, Ticket: e.Ticket, File: e.File, Line: e.Line})
	}
	return out
}
