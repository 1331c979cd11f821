package app

import (
	"testing"

	"github.com/iamprune/iamprune"
)

func TestSyncPaths(t *testing.T) {
	s3cfg := iamprune.Config{Exceptions: "s3://bucket/exceptions.yaml"}
	for _, c := range []struct {
		file, publish, cfgPath string
		cfg                    iamprune.Config
		path, target           string
	}{
		{file: "a.yaml", path: "a.yaml"},
		{cfgPath: "conf/exc.yaml", path: "conf/exc.yaml"},
		{file: "a.yaml", cfgPath: "conf/exc.yaml", path: "a.yaml"},
		{file: "a.yaml", cfg: s3cfg, path: "a.yaml", target: "s3://bucket/exceptions.yaml"},
		{file: "a.yaml", publish: "out.yml", cfg: s3cfg, path: "a.yaml", target: "out.yml"},
		{file: "a.TXT", publish: "s3://b/list.txt", path: "a.TXT", target: "s3://b/list.txt"},
	} {
		path, target, err := SyncPaths(c.file, c.publish, c.cfg, c.cfgPath)
		if err != nil || path != c.path || target != c.target {
			t.Errorf("%+v: got %q %q %v", c, path, target, err)
		}
	}
	for _, c := range []struct{ file, publish string }{{"", ""}, {"s3://b/e.yaml", ""}, {"a.yaml", "s3://b/list.txt"}, {"a.txt", "out.yaml"}} {
		if _, _, err := SyncPaths(c.file, c.publish, iamprune.Config{}, ""); iamprune.ErrorCode(err) != iamprune.EINVALID {
			t.Errorf("%+v: got %v, want EINVALID", c, err)
		}
	}
}
