package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The release workflow builds what the tag pins, from no cache, and never
// replaces the files of a published release: the exceptions workflows
// trust a version number to mean the files they were checked against.
func TestReleaseWorkflow(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				With map[string]any    `yaml:"with"`
				Env  map[string]string `yaml:"env"`
				Run  string            `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	var built, published bool
	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	for _, s := range w.Jobs["release"].Steps {
		if s.Uses != "" && !pinned.MatchString(s.Uses) {
			t.Errorf("uses %q: pin the action to a full commit SHA, as a tag can be moved", s.Uses)
		}
		if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["cache"] != false {
			t.Errorf("setup-go: cache %v; a release must not restore a build cache", s.With["cache"])
		}
		if strings.Contains(s.Run, "make release ") {
			built = true
			if s.Env["GOPROXY"] != "off" || !strings.Contains(s.Env["GOFLAGS"], "-mod=readonly") {
				t.Errorf("make release runs with GOPROXY %q, GOFLAGS %q; want off and -mod=readonly", s.Env["GOPROXY"], s.Env["GOFLAGS"])
			}
		}
		if strings.Contains(s.Run, "gh release upload") {
			published = true
			if !strings.Contains(s.Run, "--draft ") || !strings.Contains(s.Run, "already published") || !strings.Contains(s.Run, "--draft=false") {
				t.Errorf("the publish step may replace a published release's files:\n%s", s.Run)
			}
		}
	}
	if !built || !published {
		t.Errorf("release.yml: make release %v, gh release upload %v", built, published)
	}
}
