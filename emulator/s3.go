package emulator

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
)

// S3, in memory: the object calls that publishing and reading an
// exception list need (PutObject, GetObject and HeadObject with ETags and
// conditional requests), plus CreateBucket and HeadBucket so that a CLI
// user can set a bucket up. Anything else answers NotImplemented rather
// than something approximate.

// s3Writes are the S3 operations that change state.
var s3Writes = map[string]bool{"PutObject": true, "CreateBucket": true}

type s3Bucket struct {
	name    string
	created time.Time
	objects map[string]*s3Object
}

type s3Object struct {
	body        []byte
	etag        string // quoted hex MD5 of body, as S3 gives it for single-part uploads
	contentType string
	modified    time.Time
	meta        map[string]string // x-amz-meta-* headers, canonical names
	checksums   map[string]string // algorithm (crc32, sha256, ...) to base64 value
}

// defaultContentType is what S3 stores when PutObject names none.
const defaultContentType = "binary/octet-stream"

func newObject(body []byte, contentType string, at time.Time) *s3Object {
	sum := md5.Sum(body)
	if contentType == "" {
		contentType = defaultContentType
	}
	return &s3Object{body: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`, contentType: contentType, modified: at}
}

// s3Request is a routed S3 request.
type s3Request struct {
	op          string
	bucket, key string
	r           *http.Request
	body        []byte
}

// s3Response is what an S3 handler answers: a status, headers and a body.
type s3Response struct {
	status int
	header http.Header
	body   []byte
}

// s3Address splits a request into bucket and key: virtual-hosted style
// when the Host is BUCKET.<S3VirtualHost>, path-style (/BUCKET/KEY)
// otherwise.
func (s *Server) s3Address(r *http.Request) (bucket, key string) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if b, ok := strings.CutSuffix(host, "."+s.s3Host); ok && b != "" {
		return b, strings.TrimPrefix(r.URL.Path, "/")
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return bucket, key
}

// routeS3 names the operation, or gives the error for what is not
// implemented. Query parameters other than the SDK's x-id select other
// operations or features (versions, ACLs, listing...), none of which the
// emulator has.
func routeS3(r *http.Request, bucket, key string) (string, *apiError) {
	for k := range r.URL.Query() {
		if k != "x-id" {
			return "", s3NotImplemented("the ?" + k + " subresource or parameter")
		}
	}
	switch {
	case bucket == "":
		return "", s3NotImplemented(r.Method + " on the service (ListBuckets)")
	case key == "" && r.Method == http.MethodPut:
		return "CreateBucket", nil
	case key == "" && r.Method == http.MethodHead:
		return "HeadBucket", nil
	case key == "":
		return "", s3NotImplemented(r.Method + " on a bucket")
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "", s3NotImplemented("CopyObject")
	case r.Method == http.MethodPut:
		return "PutObject", nil
	case r.Method == http.MethodGet && r.Header.Get("Range") != "":
		return "", s3NotImplemented("ranged GetObject")
	case r.Method == http.MethodGet:
		return "GetObject", nil
	case r.Method == http.MethodHead:
		return "HeadObject", nil
	}
	return "", s3NotImplemented(r.Method + " on an object")
}

// s3Params renders a request canonically for the call log: the path and
// the headers that change its meaning; for PutObject the body's MD5
// rather than the body.
func s3Params(op, bucket, key string, r *http.Request, body []byte) string {
	var b strings.Builder
	b.WriteString("/" + bucket)
	if key != "" {
		b.WriteString("/" + key)
	}
	q := r.URL.Query()
	q.Del("x-id")
	if len(q) > 0 {
		b.WriteString("?" + q.Encode())
	}
	for _, h := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := r.Header.Get(h); v != "" {
			b.WriteString(" " + h + "=" + v)
		}
	}
	if op == "PutObject" {
		sum := md5.Sum(body)
		b.WriteString(" Content-Type=" + r.Header.Get("Content-Type") + " md5=" + hex.EncodeToString(sum[:]))
	}
	return b.String()
}

var s3Handlers = map[string]func(s *Server, q s3Request) (s3Response, *apiError){
	"CreateBucket": (*Server).createBucket,
	"HeadBucket":   (*Server).headBucket,
	"PutObject":    (*Server).putObject,
	"GetObject":    (*Server).getObject,
	"HeadObject":   (*Server).getObject,
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request, body []byte, reqID string) {
	bucket, key := s.s3Address(r)
	op, rerr := routeS3(r, bucket, key)
	name := op
	if name == "" {
		name = r.Method + " " + r.URL.Path
	}
	call := Call{Service: "s3", Operation: name, Params: s3Params(op, bucket, key, r, body)}
	if e := s.injectedFailure(call, r); e != nil {
		writeS3Error(w, r, reqID, e)
		return
	}
	if !s.admit(call, r) {
		writeS3Error(w, r, reqID, s3Throttling())
		return
	}
	if rerr != nil {
		writeS3Error(w, r, reqID, rerr)
		return
	}
	out, aerr := s.runLocked(s3Writes[op], func() (any, *apiError) {
		return s3Handlers[op](s, s3Request{op: op, bucket: bucket, key: key, r: r, body: body})
	})
	if aerr != nil {
		writeS3Error(w, r, reqID, aerr)
		return
	}
	resp := out.(s3Response)
	h := w.Header()
	maps.Copy(h, resp.header)
	setS3IDs(h, reqID)
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// checkBucketName applies S3's general-purpose bucket naming rules.
func checkBucketName(name string) *apiError {
	bad := !bucketNamePattern.MatchString(name) || strings.Contains(name, "..") || net.ParseIP(name) != nil ||
		strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-") ||
		strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3")
	if bad {
		return s3Err(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", "BucketName", name)
	}
	return nil
}

// createBucket creates an empty bucket. Creating one the caller already
// owns succeeds in us-east-1 and is BucketAlreadyOwnedByYou elsewhere, as
// in S3.
func (s *Server) createBucket(q s3Request) (s3Response, *apiError) {
	if aerr := checkBucketName(q.bucket); aerr != nil {
		return s3Response{}, aerr
	}
	if len(strings.TrimSpace(string(q.body))) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(q.body, &cfg); err != nil {
			return s3Response{}, s3Err(http.StatusBadRequest, "MalformedXML",
				"The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
	ok := s3Response{status: http.StatusOK, header: http.Header{"Location": {"/" + q.bucket}}}
	if s.st.buckets[q.bucket] != nil {
		if s.st.region() == "us-east-1" {
			return ok, nil
		}
		return s3Response{}, s3Err(http.StatusConflict, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.", "BucketName", q.bucket)
	}
	s.st.buckets[q.bucket] = &s3Bucket{name: q.bucket, created: s.stamp(), objects: map[string]*s3Object{}}
	return ok, nil
}

func (s *Server) headBucket(q s3Request) (s3Response, *apiError) {
	if s.st.buckets[q.bucket] == nil {
		return s3Response{}, noSuchBucket(q.bucket)
	}
	return s3Response{status: http.StatusOK, header: http.Header{"X-Amz-Bucket-Region": {s.st.region()}}}, nil
}

func (s *Server) putObject(q s3Request) (s3Response, *apiError) {
	b := s.st.buckets[q.bucket]
	if b == nil {
		return s3Response{}, noSuchBucket(q.bucket)
	}
	data, sums, aerr := decodePayload(q.r.Header, q.body)
	if aerr != nil {
		return s3Response{}, aerr
	}
	old := b.objects[q.key]
	// Conditional writes: If-None-Match: * creates only, If-Match replaces
	// only the version the caller read.
	if v := q.r.Header.Get("If-None-Match"); v != "" {
		if v != "*" {
			return s3Response{}, s3NotImplemented("If-None-Match on PutObject other than *")
		}
		if old != nil {
			return s3Response{}, preconditionFailed("If-None-Match")
		}
	}
	if v := q.r.Header.Get("If-Match"); v != "" {
		if old == nil {
			return s3Response{}, noSuchS3Key(q.key)
		}
		if !etagListMatches(v, old.etag) {
			return s3Response{}, preconditionFailed("If-Match")
		}
	}
	o := newObject(data, q.r.Header.Get("Content-Type"), s.stamp())
	o.checksums = sums
	for k, vs := range q.r.Header {
		if strings.HasPrefix(k, "X-Amz-Meta-") && len(vs) > 0 {
			if o.meta == nil {
				o.meta = map[string]string{}
			}
			o.meta[k] = vs[0]
		}
	}
	b.objects[q.key] = o
	h := http.Header{"Etag": {o.etag}}
	for alg, v := range sums {
		h.Set(checksumHeaderPrefix+alg, v)
	}
	return s3Response{status: http.StatusOK, header: h}, nil
}

// getObject serves GetObject and HeadObject, conditional requests
// included, in the order RFC 9110 gives: If-Match (else
// If-Unmodified-Since) can fail with 412, then If-None-Match (else
// If-Modified-Since) can answer 304.
func (s *Server) getObject(q s3Request) (s3Response, *apiError) {
	b := s.st.buckets[q.bucket]
	if b == nil {
		return s3Response{}, noSuchBucket(q.bucket)
	}
	o := b.objects[q.key]
	if o == nil {
		return s3Response{}, noSuchS3Key(q.key)
	}
	h := q.r.Header
	if v := h.Get("If-Match"); v != "" {
		if !etagListMatches(v, o.etag) {
			return s3Response{}, preconditionFailed("If-Match")
		}
	} else if t, ok := httpDate(h.Get("If-Unmodified-Since")); ok && o.modified.After(t) {
		return s3Response{}, preconditionFailed("If-Unmodified-Since")
	}
	notModified := false
	if v := h.Get("If-None-Match"); v != "" {
		notModified = etagListMatches(v, o.etag)
	} else if t, ok := httpDate(h.Get("If-Modified-Since")); ok {
		notModified = !o.modified.After(t)
	}
	out := http.Header{
		"Etag":          {o.etag},
		"Last-Modified": {o.modified.UTC().Format(http.TimeFormat)},
	}
	if notModified {
		return s3Response{status: http.StatusNotModified, header: out}, nil
	}
	out.Set("Content-Type", o.contentType)
	out.Set("Content-Length", strconv.Itoa(len(o.body)))
	out.Set("Accept-Ranges", "bytes")
	for k, v := range o.meta {
		out.Set(k, v)
	}
	if strings.EqualFold(h.Get("X-Amz-Checksum-Mode"), "ENABLED") && len(o.checksums) > 0 {
		for alg, v := range o.checksums {
			out.Set(checksumHeaderPrefix+alg, v)
		}
		out.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	return s3Response{status: http.StatusOK, header: out, body: o.body}, nil
}

// etagListMatches reports whether an If-Match or If-None-Match list names
// etag: "*" matches any, and S3 accepts tags with or without quotes.
func etagListMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || `"`+t+`"` == etag {
			return true
		}
	}
	return false
}

// httpDate parses a conditional date header; an unparsable one is
// ignored, as HTTP requires.
func httpDate(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// PutObject stores an object as the PutObject API would with no
// Content-Type. It is a test hook, not an AWS API: the bucket must exist
// (Options.Buckets or CreateBucket).
func (s *Server) PutObject(bucket, key string, body []byte) error {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b := s.st.buckets[bucket]
	if b == nil {
		return iamprune.Errorf(iamprune.ENOTFOUND, "emulator: no bucket %s", bucket)
	}
	if key == "" {
		return iamprune.Errorf(iamprune.EINVALID, "emulator: empty object key")
	}
	b.objects[key] = newObject(slices.Clone(body), "", s.stamp())
	return nil
}

// Object returns a copy of an object's bytes and its ETag, and whether it
// exists. It is a test hook, not an AWS API.
func (s *Server) Object(bucket, key string) (body []byte, etag string, ok bool) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	b := s.st.buckets[bucket]
	if b == nil || b.objects[key] == nil {
		return nil, "", false
	}
	o := b.objects[key]
	return slices.Clone(o.body), o.etag, true
}
