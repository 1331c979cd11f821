package app

import (
	"path/filepath"
	"testing"

	"github.com/iamprune/iamprune"
)

func TestSavedPlanConfig(t *testing.T) {
	made := filepath.Join(t.TempDir(), "made.yaml")
	if err := SavePlan(made, &iamprune.Plan{}); err != nil { // any readable file
		t.Fatal(err)
	}
	none := Env{Getenv: func(string) string { return "" }}
	set := Env{Getenv: func(k string) string { return map[string]string{"IAMPRUNE_CONFIG": "env.yaml"}[k] }}
	for _, c := range []struct {
		env        Env
		planned    string
		flag, want string
	}{
		{none, made, "", made},
		{none, made, "flag.yaml", "flag.yaml"},
		{set, made, "", ""},
		{none, "", "", ""},
	} {
		got, err := SavedPlanConfig(c.env, "plan.json", &iamprune.Plan{Config: c.planned}, c.flag)
		if err != nil || got != c.want {
			t.Errorf("%+v: got %q, %v; want %q", c, got, err, c.want)
		}
	}
	_, err := SavedPlanConfig(none, "plan.json", &iamprune.Plan{Config: filepath.Join(t.TempDir(), "gone.yaml")}, "")
	if iamprune.ErrorCode(err) != iamprune.EINVALID {
		t.Errorf("a plan's config that is gone: got %v, want EINVALID", err)
	}
}
