package config

import (
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tt := range []struct{ config, p, want string }{
		{"s3://cfg/iamprune/config.yaml", "exceptions.yaml", "s3://cfg/iamprune/exceptions.yaml"},
		{"s3://cfg/config.yaml", "exceptions.yaml", "s3://cfg/exceptions.yaml"},
		{filepath.Join("etc", "iamprune.yaml"), "exc.txt", filepath.Join("etc", "exc.txt")},
		{filepath.Join("etc", "iamprune.yaml"), filepath.Join("..", "repo"), "repo"},
		{"s3://cfg/c.yaml", "s3://b/e.yaml", "s3://b/e.yaml"},
		{"etc/iamprune.yaml", "git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"etc/iamprune.yaml", "https://github.com/org/repo", "https://github.com/org/repo"},
		{"etc/iamprune.yaml", "/abs/exc.yaml", "/abs/exc.yaml"},
		{"", "exceptions.yaml", "exceptions.yaml"}, // defaults or inline YAML: the working directory
		{"s3://cfg/c.yaml", "", ""},
	} {
		if got := Resolve(tt.config, tt.p); got != tt.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tt.config, tt.p, got, tt.want)
		}
	}
}
