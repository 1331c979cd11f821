package exceptions

import (
	"context"
	"errors"
	"testing"

	"github.com/iamprune/iamprune"
)

// fakeSource serves bodies by URL; a URL it does not hold is ENOTFOUND.
type fakeSource map[string]string

func (f fakeSource) Read(_ context.Context, url string) ([]byte, error) {
	if url == "s3://b/broken.yaml" {
		return nil, errors.New("connection reset")
	}
	body, ok := f[url]
	if !ok {
		return nil, iamprune.Errorf(iamprune.ENOTFOUND, "s3: %s does not exist", url)
	}
	return []byte(body), nil
}

func TestRemote(t *testing.T) {
	ctx := context.Background()
	src := fakeSource{
		"s3://b/list.yaml": "exceptions:\n  - principal: arn:aws:iam::111122223333:user/alice\n",
		"s3://b/list.txt":  "arn:aws:iam::111122223333:role/app\n",
	}
	r := NewRemote(src)
	for _, tt := range []struct{ url, want string }{
		{"s3://b/list.yaml", "arn:aws:iam::111122223333:user/alice"},
		{"s3://b/list.txt", "arn:aws:iam::111122223333:role/app"},
	} {
		got, err := r.Load(ctx, tt.url)
		if err != nil || len(got) != 1 || got[0].Principal != tt.want || got[0].File != tt.url {
			t.Errorf("Load(%s) = %+v, %v; want %s", tt.url, got, err, tt.want)
		}
	}
	// A caller's edit does not reach the cached list.
	got, _ := r.Load(ctx, "s3://b/list.yaml")
	got[0].Principal = "changed"
	if again, _ := r.Load(ctx, "s3://b/list.yaml"); again[0].Principal != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("cached list changed by a caller: %+v", again)
	}
	// Changed content is parsed again.
	src["s3://b/list.yaml"] = "exceptions:\n  - principal: arn:aws:iam::111122223333:user/bob\n"
	if got, err := r.Load(ctx, "s3://b/list.yaml"); err != nil || got[0].Principal != "arn:aws:iam::111122223333:user/bob" {
		t.Errorf("after a change = %+v, %v", got, err)
	}
	if _, err := r.Load(ctx, "s3://b/missing.yaml"); iamprune.ErrorCode(err) != iamprune.EINVALID || err.Error() != "exceptions: exceptions file s3://b/missing.yaml does not exist" {
		t.Errorf("missing: %v", err)
	}
	if _, err := r.Load(ctx, "s3://b/broken.yaml"); err == nil || err.Error() != "exceptions: connection reset" {
		t.Errorf("failed read: %v", err)
	}
}
