package emulator

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/iamprune/iamprune"
)

const exceptionsYAML = "exceptions:\n  - principal: arn:aws:iam::111122223333:user/alice\n"

func newS3Env(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, "basic", Options{Buckets: []string{"iamprune-config"}, Now: func() time.Time { return fixedNow }})
}

func md5ETag(b string) string {
	sum := md5.Sum([]byte(b))
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func putObject(t *testing.T, c *s3.Client, bucket, key, body, contentType string) *s3.PutObjectOutput {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	out, err := c.PutObject(ctx, in)
	if err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

func TestS3PutGetHead(t *testing.T) {
	env := newS3Env(t)
	put := putObject(t, env.s3, "iamprune-config", "exceptions/prod.yaml", exceptionsYAML, "application/yaml")
	if aws.ToString(put.ETag) != md5ETag(exceptionsYAML) {
		t.Errorf("PutObject ETag = %s, want %s", aws.ToString(put.ETag), md5ETag(exceptionsYAML))
	}

	get, err := env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("exceptions/prod.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || string(body) != exceptionsYAML {
		t.Errorf("GetObject body = %q, %v", body, err)
	}
	if aws.ToString(get.ETag) != md5ETag(exceptionsYAML) || aws.ToInt64(get.ContentLength) != int64(len(exceptionsYAML)) ||
		aws.ToString(get.ContentType) != "application/yaml" || !get.LastModified.Equal(fixedNow) {
		t.Errorf("GetObject = etag %s length %d type %s modified %v", aws.ToString(get.ETag), aws.ToInt64(get.ContentLength),
			aws.ToString(get.ContentType), get.LastModified)
	}

	head, err := env.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("exceptions/prod.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ETag) != md5ETag(exceptionsYAML) || aws.ToInt64(head.ContentLength) != int64(len(exceptionsYAML)) ||
		aws.ToString(head.ContentType) != "application/yaml" || !head.LastModified.Equal(fixedNow) {
		t.Errorf("HeadObject = %+v", head)
	}

	// Overwriting replaces; without a ContentType the SDK sends its own default.
	putObject(t, env.s3, "iamprune-config", "exceptions/prod.yaml", "v2", "")
	head, err = env.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("exceptions/prod.yaml")})
	if err != nil || aws.ToString(head.ContentType) != "application/octet-stream" || aws.ToString(head.ETag) != md5ETag("v2") {
		t.Errorf("HeadObject after overwrite = type %s etag %s, %v", aws.ToString(head.ContentType), aws.ToString(head.ETag), err)
	}

	var ops []string
	for _, c := range env.srv.Writes() {
		ops = append(ops, c.Operation)
	}
	if want := []string{"PutObject", "PutObject"}; !slices.Equal(ops, want) {
		t.Errorf("Writes() = %v, want %v", ops, want)
	}
}

// TestS3ChecksumRoundTrip: with checksum mode on, the SDK validates the
// body against the checksum S3 returns.
func TestS3ChecksumRoundTrip(t *testing.T) {
	env := newS3Env(t)
	put, err := env.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("iamprune-config"), Key: aws.String("k"), Body: strings.NewReader(exceptionsYAML),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		t.Fatal(err)
	}
	if put.ChecksumSHA256 == nil {
		t.Error("PutObject did not echo the request's SHA256")
	}
	get, err := env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("k"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	defer get.Body.Close()
	if _, err := io.ReadAll(get.Body); err != nil {
		t.Errorf("reading a checksummed body: %v", err)
	}
	if get.ChecksumSHA256 == nil {
		t.Error("GetObject with checksum mode returned no SHA256")
	}
}

func TestS3ConditionalRequests(t *testing.T) {
	etag := md5ETag(exceptionsYAML)
	before, after := fixedNow.Add(-time.Hour), fixedNow.Add(time.Hour)
	tests := []struct {
		name                          string
		ifMatch, ifNoneMatch          string
		ifModifiedSince, ifUnmodified *time.Time
		status                        int // 200, or the error status
		code                          string
	}{
		{name: "unconditional", status: 200},
		{name: "if-none-match current", ifNoneMatch: etag, status: 304, code: "NotModified"},
		{name: "if-none-match current, unquoted", ifNoneMatch: strings.Trim(etag, `"`), status: 304, code: "NotModified"},
		{name: "if-none-match list", ifNoneMatch: `"old", ` + etag, status: 304, code: "NotModified"},
		{name: "if-none-match star", ifNoneMatch: "*", status: 304, code: "NotModified"},
		{name: "if-none-match other", ifNoneMatch: `"0123"`, status: 200},
		{name: "if-match current", ifMatch: etag, status: 200},
		{name: "if-match other", ifMatch: `"0123"`, status: 412, code: "PreconditionFailed"},
		{name: "if-modified-since before", ifModifiedSince: &before, status: 200},
		{name: "if-modified-since after", ifModifiedSince: &after, status: 304, code: "NotModified"},
		{name: "if-unmodified-since after", ifUnmodified: &after, status: 200},
		{name: "if-unmodified-since before", ifUnmodified: &before, status: 412, code: "PreconditionFailed"},
		// If-None-Match decides, not If-Modified-Since; If-Match beats
		// If-Unmodified-Since.
		{name: "if-none-match other beats if-modified-since", ifNoneMatch: `"0123"`, ifModifiedSince: &after, status: 200},
		{name: "if-match beats if-unmodified-since", ifMatch: etag, ifUnmodified: &before, status: 200},
		{name: "412 before 304", ifMatch: `"0123"`, ifNoneMatch: etag, status: 412, code: "PreconditionFailed"},
	}
	env := newS3Env(t)
	putObject(t, env.s3, "iamprune-config", "list.yaml", exceptionsYAML, "")
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return aws.String(s)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get, err := env.s3.GetObject(ctx, &s3.GetObjectInput{
				Bucket: aws.String("iamprune-config"), Key: aws.String("list.yaml"),
				IfMatch: opt(tt.ifMatch), IfNoneMatch: opt(tt.ifNoneMatch), IfModifiedSince: tt.ifModifiedSince, IfUnmodifiedSince: tt.ifUnmodified,
			})
			_, herr := env.s3.HeadObject(ctx, &s3.HeadObjectInput{
				Bucket: aws.String("iamprune-config"), Key: aws.String("list.yaml"),
				IfMatch: opt(tt.ifMatch), IfNoneMatch: opt(tt.ifNoneMatch), IfModifiedSince: tt.ifModifiedSince, IfUnmodifiedSince: tt.ifUnmodified,
			})
			if tt.status == 200 {
				if err != nil || herr != nil {
					t.Fatalf("GetObject %v, HeadObject %v", err, herr)
				}
				body, _ := io.ReadAll(get.Body)
				get.Body.Close()
				if string(body) != exceptionsYAML {
					t.Errorf("body = %q", body)
				}
				return
			}
			wantAPIError(t, err, tt.code, tt.status)
			// HEAD answers carry no body: the SDK names the error after the status.
			wantAPIError(t, herr, tt.code, tt.status)
		})
	}
	// A 304 has no body, but the validators.
	req, _ := http.NewRequest("GET", env.url+"/iamprune-config/list.yaml", nil)
	req.Header.Set("Authorization", authFor("s3"))
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 304 || len(b) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("raw 304 = %d %q %v", resp.StatusCode, b, resp.Header)
	}
}

func TestS3Errors(t *testing.T) {
	env := newS3Env(t)
	putObject(t, env.s3, "iamprune-config", "there", "x", "")

	_, err := env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("missing")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject missing key: want *types.NoSuchKey, got %v", err)
	}
	wantAPIError(t, err, "NoSuchKey", 404)

	_, err = env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("there")})
	wantAPIError(t, err, "NoSuchBucket", 404)

	_, err = env.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("missing")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject missing key: want *types.NotFound, got %v", err)
	}
	wantAPIError(t, err, "NotFound", 404)

	_, err = env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantAPIError(t, err, "NoSuchBucket", 404)

	// Conditional writes.
	_, err = env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("there"), Body: strings.NewReader("y"), IfNoneMatch: aws.String("*")})
	wantAPIError(t, err, "PreconditionFailed", 412)
	_, err = env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("there"), Body: strings.NewReader("y"), IfMatch: aws.String(md5ETag("other"))})
	wantAPIError(t, err, "PreconditionFailed", 412)
	_, err = env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("new"), Body: strings.NewReader("y"), IfMatch: aws.String(md5ETag("x"))})
	wantAPIError(t, err, "NoSuchKey", 404)
	if _, err := env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("there"), Body: strings.NewReader("y"), IfMatch: aws.String(md5ETag("x"))}); err != nil {
		t.Errorf("PutObject If-Match current: %v", err)
	}
	if _, err := env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("new"), Body: strings.NewReader("z"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Errorf("PutObject If-None-Match * on a new key: %v", err)
	}
	if b, _, _ := env.srv.Object("iamprune-config", "there"); string(b) != "y" {
		t.Errorf("object = %q after the conditional writes, want y", b)
	}
}

// TestS3RawRequests covers what the SDK does not send over plain HTTP:
// aws-chunked bodies, wrong digests, unsupported features.
func TestS3RawRequests(t *testing.T) {
	crc := func(s string) string {
		var b [4]byte
		v := crc32.ChecksumIEEE([]byte(s))
		b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		return base64.StdEncoding.EncodeToString(b[:])
	}
	md5b64 := func(s string) string {
		sum := md5.Sum([]byte(s))
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	chunked := "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:" + crc("hello world") + "\r\n\r\n"
	signedChunks := "b;chunk-signature=abc\r\nhello world\r\n0;chunk-signature=def\r\n\r\n"
	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		body    string
		status  int
		code    string
		content string // the stored object, on success
	}{
		{name: "unsigned chunked with trailer", method: "PUT", path: "/b/k", body: chunked, status: 200, content: "hello world",
			header: map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "11", "X-Amz-Trailer": "x-amz-checksum-crc32"}},
		{name: "signed chunks", method: "PUT", path: "/b/k", body: signedChunks, status: 200, content: "hello world",
			header: map[string]string{"X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "X-Amz-Decoded-Content-Length": "11"}},
		{name: "chunked, wrong trailer", method: "PUT", path: "/b/k", body: strings.Replace(chunked, crc("hello world"), crc("hello"), 1), status: 400, code: "BadDigest",
			header: map[string]string{"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}},
		{name: "chunked, wrong length", method: "PUT", path: "/b/k", body: chunked, status: 400, code: "IncompleteBody",
			header: map[string]string{"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "12"}},
		{name: "chunked, truncated", method: "PUT", path: "/b/k", body: "b\r\nhello", status: 400, code: "IncompleteBody",
			header: map[string]string{"Content-Encoding": "aws-chunked"}},
		{name: "good content-md5", method: "PUT", path: "/b/k", body: "abc", status: 200, content: "abc",
			header: map[string]string{"Content-MD5": md5b64("abc")}},
		{name: "wrong content-md5", method: "PUT", path: "/b/k", body: "abc", status: 400, code: "BadDigest",
			header: map[string]string{"Content-MD5": md5b64("abd")}},
		{name: "malformed content-md5", method: "PUT", path: "/b/k", body: "abc", status: 400, code: "InvalidDigest",
			header: map[string]string{"Content-MD5": "nope"}},
		{name: "wrong crc32 header", method: "PUT", path: "/b/k", body: "abc", status: 400, code: "BadDigest",
			header: map[string]string{"X-Amz-Checksum-Crc32": crc("abd")}},
		{name: "malformed crc32 header", method: "PUT", path: "/b/k", body: "abc", status: 400, code: "InvalidRequest",
			header: map[string]string{"X-Amz-Checksum-Crc32": "AAAA"}},
		{name: "wrong payload hash", method: "PUT", path: "/b/k", body: "abc", status: 400, code: "XAmzContentSHA256Mismatch",
			header: map[string]string{"X-Amz-Content-Sha256": strings.Repeat("0", 64)}},
		{name: "copy", method: "PUT", path: "/b/k", status: 501, code: "NotImplemented", header: map[string]string{"X-Amz-Copy-Source": "/b/other"}},
		{name: "range", method: "GET", path: "/b/k", status: 501, code: "NotImplemented", header: map[string]string{"Range": "bytes=0-1"}},
		{name: "list objects", method: "GET", path: "/b?list-type=2", status: 501, code: "NotImplemented"},
		{name: "tagging", method: "GET", path: "/b/k?tagging", status: 501, code: "NotImplemented"},
		{name: "delete", method: "DELETE", path: "/b/k", status: 501, code: "NotImplemented"},
		{name: "bad bucket name", method: "PUT", path: "/Bad_Bucket", status: 400, code: "InvalidBucketName"},
		{name: "ip bucket name", method: "PUT", path: "/192.168.1.1", status: 400, code: "InvalidBucketName"},
		{name: "malformed bucket configuration", method: "PUT", path: "/fresh-bucket", body: "<CreateBucketConfiguration>", status: 400, code: "MalformedXML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, "basic", Options{Buckets: []string{"b"}})
			before := dump(t, env.srv)
			req, err := http.NewRequest(tt.method, env.url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", authFor("s3"))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.code != "" {
				if code, shape := errorCode(t, resp.Header, b); code != tt.code || shape != "s3" {
					t.Errorf("error = %s (%s), want %s: %s", code, shape, tt.code, b)
				}
				if resp.Header.Get("X-Amz-Request-Id") == "" || !bytes.Contains(b, []byte("<RequestId>")) {
					t.Errorf("error without request id: %v %s", resp.Header, b)
				}
				if dump(t, env.srv) != before {
					t.Error("a failed request changed the state")
				}
				return
			}
			if got, _, _ := env.srv.Object("b", "k"); string(got) != tt.content {
				t.Errorf("stored %q, want %q", got, tt.content)
			}
		})
	}
}

func TestS3Buckets(t *testing.T) {
	env := newEnv(t, "basic", Options{Now: func() time.Time { return fixedNow }})
	_, err := env.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("published"), Key: aws.String("k"), Body: strings.NewReader("x")})
	wantAPIError(t, err, "NoSuchBucket", 404)
	_, err = env.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("published")})
	wantAPIError(t, err, "NotFound", 404)

	for range 2 { // us-east-1 answers a repeated create with 200
		out, err := env.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("published")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Location) != "/published" {
			t.Errorf("Location = %v", aws.ToString(out.Location))
		}
	}
	if _, err := env.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("published")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	putObject(t, env.s3, "published", "k", "x", "")
	_, err = env.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Not_Valid")})
	wantAPIError(t, err, "InvalidBucketName", 400)

	var ops []string
	for _, c := range env.srv.Writes() {
		ops = append(ops, c.Operation)
	}
	if want := []string{"PutObject", "CreateBucket", "CreateBucket", "PutObject", "CreateBucket"}; !slices.Equal(ops, want) {
		t.Errorf("Writes() = %v, want %v", ops, want)
	}

	// Elsewhere, a repeated create is an error.
	snap := loadSnapshot(t, "basic")
	snap.Meta.Region = "eu-west-1"
	ts := httptest.NewServer(New(snap, Options{Buckets: []string{"published"}}))
	t.Cleanup(ts.Close)
	c := s3.NewFromConfig(sdkConfig(1), func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(ts.URL), true })
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("published")})
	var owned *s3types.BucketAlreadyOwnedByYou
	if !errors.As(err, &owned) {
		t.Errorf("CreateBucket of an owned bucket in eu-west-1: %v", err)
	}
}

// TestS3VirtualHosted: a client that puts the bucket in the host name, as
// the SDK does by default for an endpoint with a DNS name.
func TestS3VirtualHosted(t *testing.T) {
	env := newS3Env(t)
	addr := strings.TrimPrefix(env.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	var hosts []string
	client := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, host string) (net.Conn, error) {
			hosts = append(hosts, host)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	})
	c := s3.NewFromConfig(sdkConfig(1), func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://localhost:" + port)
		o.HTTPClient = client
	})
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("a/b.txt"), Body: strings.NewReader("v")})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) == 0 || hosts[0] != "iamprune-config.localhost:"+port {
		t.Fatalf("the client dialled %v, not the virtual host", hosts)
	}
	body, etag, ok := env.srv.Object("iamprune-config", "a/b.txt")
	if !ok || string(body) != "v" || etag != aws.ToString(put.ETag) {
		t.Errorf("Object = %q %s %v", body, etag, ok)
	}
	// The same object, path-style.
	get, err := env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
}

func TestS3Hooks(t *testing.T) {
	env := newS3Env(t)
	if err := env.srv.PutObject("iamprune-config", "seeded.txt", []byte(exceptionsYAML)); err != nil {
		t.Fatal(err)
	}
	head, err := env.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("seeded.txt")})
	if err != nil || aws.ToString(head.ETag) != md5ETag(exceptionsYAML) || aws.ToString(head.ContentType) != "binary/octet-stream" {
		t.Errorf("HeadObject of a seeded object = %+v, %v", head, err)
	}
	if err := env.srv.PutObject("nope", "k", nil); iamprune.ErrorCode(err) != iamprune.ENOTFOUND {
		t.Errorf("hook on a missing bucket: %v", err)
	}
	if _, _, ok := env.srv.Object("iamprune-config", "missing"); ok {
		t.Error("Object reports a missing key")
	}
	if len(env.srv.Writes()) != 0 {
		t.Errorf("hooks are not API calls: %v", env.srv.Writes())
	}
}

func TestS3DumpAndFailures(t *testing.T) {
	env := newS3Env(t)
	before := []byte(dump(t, env.srv))
	env.srv.FailNext("PutObject", "InternalError", 1) // a 500: the SDK retries
	putObject(t, env.s3, "iamprune-config", "list.txt", "arn:aws:iam::111122223333:user/alice\n", "text/plain")
	if n := len(env.srv.Injected()); n != 1 {
		t.Errorf("Injected() = %d calls, want 1", n)
	}
	after := []byte(dump(t, env.srv))
	diff, err := DumpDiff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Objects/iamprune-config/list.txt"}; !slices.Equal(diff, want) {
		t.Errorf("DumpDiff = %v, want %v", diff, want)
	}
	if !bytes.Contains(after, []byte(`"ETag": "\"`)) || !bytes.Contains(after, []byte(`"ContentType": "text/plain"`)) {
		t.Errorf("dump lacks the object:\n%s", after)
	}

	env.srv.FailNext("GetObject", "AccessDenied", 1)
	_, err = env.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("iamprune-config"), Key: aws.String("list.txt")})
	wantAPIError(t, err, "AccessDenied", 403)

	// Throttling is S3's SlowDown, which the SDK retries.
	th := newEnv(t, "basic", Options{Buckets: []string{"b"}, ThrottleEvery: 2})
	for i := range 3 {
		putObject(t, th.s3, "b", fmt.Sprint(i), "x", "")
	}
	if len(th.srv.Throttled()) == 0 {
		t.Error("nothing was throttled")
	}
}
