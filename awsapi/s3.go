package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// ParseS3URL splits s3://bucket/key.
func ParseS3URL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || key == "" {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "s3: %q is not an S3 object URL (s3://bucket/key)", u)
	}
	return bucket, key, nil
}

// SHA256Meta is the user-metadata key under which Put records the body's
// SHA-256: an ETag is only the MD5 of the body for single-part uploads
// without SSE-KMS, so it cannot always tell whether content changed.
const SHA256Meta = "sha256"

// S3Object reads and writes single S3 objects.
type S3Object struct {
	client *s3.Client
}

// NewS3Object returns an S3Object over cfg. With an endpoint override
// (Options.Endpoint, AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3) it addresses
// buckets by path, as local endpoints such as the emulator need: they
// cannot serve bucket.host virtual-host names. Standard AWS endpoints keep
// virtual-host addressing.
func NewS3Object(cfg aws.Config) *S3Object {
	return &S3Object{client: s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Objects written without a checksum would otherwise log a notice
		// on stderr at every read.
		o.DisableLogOutputChecksumValidationSkipped = true
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})}
}

// ObjectInfo is what HeadObject says of an object.
type ObjectInfo struct {
	ETag   string // as S3 returns it, quotes included
	SHA256 string // hex, when Put wrote the object; else ""
}

// Get reads the object. With ifNoneMatch set to the ETag of a copy the
// caller holds, an unchanged object is not transferred: notModified is true
// and body nil. A missing object is an ENOTFOUND *iamprune.Error.
func (o *S3Object) Get(ctx context.Context, bucket, key, ifNoneMatch string) (body []byte, etag string, notModified bool, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if ifNoneMatch != "" {
		in.IfNoneMatch = aws.String(ifNoneMatch)
	}
	out, err := o.client.GetObject(ctx, in)
	switch status(err) {
	case 0:
	case http.StatusNotModified:
		return nil, ifNoneMatch, true, nil
	case http.StatusNotFound:
		return nil, "", false, iamprune.Errorf(iamprune.ENOTFOUND, "s3: s3://%s/%s does not exist", bucket, key)
	default:
		return nil, "", false, fmt.Errorf("s3: cannot get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err = input.ReadAll(out.Body, "s3://"+bucket+"/"+key, input.MaxConfig)
	if err != nil {
		return nil, "", false, fmt.Errorf("s3: cannot read s3://%s/%s: %w", bucket, key, err)
	}
	return body, deref(out.ETag), false, nil
}

// Head returns the object's ETag, or exists false when there is none.
func (o *S3Object) Head(ctx context.Context, bucket, key string) (etag string, exists bool, err error) {
	info, exists, err := o.Stat(ctx, bucket, key)
	return info.ETag, exists, err
}

// Stat is Head with the SHA-256 Put recorded.
func (o *S3Object) Stat(ctx context.Context, bucket, key string) (ObjectInfo, bool, error) {
	out, err := o.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	switch status(err) {
	case 0:
	case http.StatusNotFound:
		return ObjectInfo{}, false, nil
	default:
		return ObjectInfo{}, false, fmt.Errorf("s3: cannot head s3://%s/%s: %w", bucket, key, err)
	}
	return ObjectInfo{ETag: deref(out.ETag), SHA256: out.Metadata[SHA256Meta]}, true, nil
}

// Put writes the object, recording its SHA-256, and returns the new ETag.
func (o *S3Object) Put(ctx context.Context, bucket, key string, body []byte, contentType string) (etag string, err error) {
	sum := sha256.Sum256(body)
	in := &s3.PutObjectInput{
		Bucket:   aws.String(bucket),
		Key:      aws.String(key),
		Body:     bytes.NewReader(body),
		Metadata: map[string]string{SHA256Meta: hex.EncodeToString(sum[:])},
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	out, err := o.client.PutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("s3: cannot put s3://%s/%s: %w", bucket, key, err)
	}
	return deref(out.ETag), nil
}

// status returns the HTTP status of a failed call, 0 for success and -1 for
// an error that carries none.
func status(err error) int {
	if err == nil {
		return 0
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return -1
}

// CachedObjects reads S3 objects by URL and keeps each body with its ETag,
// so that a long-lived process (the Lambda, warm) transfers an object only
// when it changed: every Read asks with If-None-Match and an unchanged
// object costs one bodiless 304. It is safe for concurrent use.
type CachedObjects struct {
	objects *S3Object

	mu    sync.Mutex
	cache map[string]cachedObject // by URL
}

type cachedObject struct {
	etag string
	body []byte
}

// NewCachedObjects returns a cache reading through objects.
func NewCachedObjects(objects *S3Object) *CachedObjects {
	return &CachedObjects{objects: objects, cache: map[string]cachedObject{}}
}

// Read returns the body of the object at url (s3://bucket/key). A malformed
// URL is an EINVALID *iamprune.Error, a missing object ENOTFOUND. The body
// is shared with the cache: callers must not modify it.
func (c *CachedObjects) Read(ctx context.Context, url string) ([]byte, error) {
	bucket, key, err := ParseS3URL(url)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cached, ok := c.cache[url]
	body, etag, notModified, err := c.objects.Get(ctx, bucket, key, cached.etag)
	if err != nil {
		return nil, err
	}
	if notModified && ok {
		return cached.body, nil
	}
	if etag != "" {
		c.cache[url] = cachedObject{etag: etag, body: body}
	}
	return body, nil
}
