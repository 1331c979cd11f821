package exceptions

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/iamprune/iamprune"
)

// Source reads a published exceptions list by URL (awsapi.CachedObjects
// for s3://bucket/key). A missing list is an ENOTFOUND *iamprune.Error.
type Source interface {
	Read(ctx context.Context, url string) ([]byte, error)
}

// Remote loads exception lists published to object storage (the config's
// exceptions: s3://bucket/key) and parses a list again only when its
// content changed. It is safe for concurrent use.
type Remote struct {
	src Source

	mu    sync.Mutex
	cache map[string]parsed // by URL
}

type parsed struct {
	body []byte
	list []iamprune.Exception
}

// NewRemote returns a loader reading through src.
func NewRemote(src Source) *Remote {
	return &Remote{src: src, cache: map[string]parsed{}}
}

// Load returns the exceptions at url, parsed as Parse does, so problems
// name the URL and line. A list that fails to parse is an error.
func (r *Remote) Load(ctx context.Context, url string) ([]iamprune.Exception, error) {
	body, err := r.src.Read(ctx, url)
	if err != nil {
		if iamprune.ErrorCode(err) == iamprune.ENOTFOUND {
			return nil, iamprune.Errorf(iamprune.EINVALID, "exceptions: exceptions file %s does not exist", url)
		}
		// A bad URL already says what is wrong with it; a failed read is
		// wrapped to say what was being read.
		if _, ok := err.(*iamprune.Error); ok {
			return nil, err
		}
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cache[url]; ok && bytes.Equal(c.body, body) {
		return slices.Clone(c.list), nil
	}
	list, err := Parse(body, url)
	if err != nil {
		return nil, err
	}
	r.cache[url] = parsed{body: body, list: list}
	return slices.Clone(list), nil
}
