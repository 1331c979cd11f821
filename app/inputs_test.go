package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var testNow = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// The config comes from $IAMPRUNE_CONFIG when no path is given, and its
// exceptions file and propose repository are read next to it, not in the
// working directory.
func TestLoadInputsResolvesPathsNextToTheConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "etc", "iamprune.yaml")
	write(t, cfgPath, "exceptions: exc/list.yaml\npropose:\n  repo: ../policies\n")
	write(t, filepath.Join(dir, "etc", "exc", "list.yaml"), `exceptions:
  - principal: arn:aws:iam::111122223333:role/Forensics
    reason: incident response
    owner: security@example.com
    expires: 2027-01-31
`)
	in, err := LoadInputs(context.Background(), InputOptions{Getenv: env(map[string]string{"IAMPRUNE_CONFIG": cfgPath}), Clock: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if in.ConfigPath != cfgPath {
		t.Errorf("ConfigPath = %q, want %q", in.ConfigPath, cfgPath)
	}
	if len(in.Exceptions) != 1 || in.Exceptions[0].Principal != "arn:aws:iam::111122223333:role/Forensics" {
		t.Errorf("exceptions = %+v, want the Forensics entry", in.Exceptions)
	}
	if want := filepath.Join(dir, "policies"); in.Config.Propose.Repo != want {
		t.Errorf("propose repo = %q, want %q", in.Config.Propose.Repo, want)
	}
	if !in.Now.Equal(testNow) {
		t.Errorf("Now = %v, want the injected clock's %v", in.Now, testNow)
	}
}

// An entry the gate refuses (no expiry) is dropped with a warning naming
// it; Now overrides the clock.
func TestLoadInputsGatesExceptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exc := filepath.Join(dir, "exc.yaml")
	write(t, exc, `exceptions:
  - principal: arn:aws:iam::111122223333:role/Forever
    reason: no end
    owner: a@example.com
  - principal: arn:aws:iam::111122223333:role/Drill
    reason: drill
    owner: a@example.com
    expires: 2026-12-31
`)
	clock := func() time.Time { t.Error("the clock is read although Now is given"); return time.Time{} }
	in, err := LoadInputs(context.Background(), InputOptions{Exceptions: exc, Now: testNow, Getenv: env(nil), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Exceptions) != 1 || in.Exceptions[0].Principal != "arn:aws:iam::111122223333:role/Drill" {
		t.Errorf("exceptions = %+v, want only Drill", in.Exceptions)
	}
	if len(in.Warnings) != 1 || !strings.Contains(in.Warnings[0].Message, "ignored") {
		t.Errorf("warnings = %+v, want one about the refused entry", in.Warnings)
	}
	if in.ConfigPath != "" || in.Config.Analyzer != iamprune.DefaultConfig().Analyzer {
		t.Errorf("want the defaults without a config, got %q %+v", in.ConfigPath, in.Config.Analyzer)
	}
}

// Inline YAML (the Lambda function's) is parsed under its name, and the
// aws block reaches ConfigureAWS before anything else.
func TestLoadInputsInlineConfig(t *testing.T) {
	t.Parallel()
	var got iamprune.AWS
	in, err := LoadInputs(context.Background(), InputOptions{
		ConfigYAML: "aws:\n  max_retries: 7\n", ConfigYAMLName: "IAMPRUNE_CONFIG_YAML",
		Now: testNow, Getenv: env(nil), ConfigureAWS: func(a iamprune.AWS) { got = a },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxRetries != 7 || in.Config.Source != "IAMPRUNE_CONFIG_YAML" {
		t.Errorf("ConfigureAWS got %+v, source %q; want max_retries 7 from IAMPRUNE_CONFIG_YAML", got, in.Config.Source)
	}
	_, err = LoadInputs(context.Background(), InputOptions{ConfigYAML: "bogus: 1\n", ConfigYAMLName: "IAMPRUNE_CONFIG_YAML", Now: testNow, Getenv: env(nil)})
	if iamprune.ErrorCode(err) != iamprune.EINVALID || !strings.Contains(err.Error(), "IAMPRUNE_CONFIG_YAML") {
		t.Errorf("bad inline config: err = %v, want EINVALID naming IAMPRUNE_CONFIG_YAML", err)
	}
}

// An s3:// config without a way to read S3 is an error, not the defaults.
func TestLoadInputsS3NeedsObjects(t *testing.T) {
	t.Parallel()
	_, err := LoadInputs(context.Background(), InputOptions{ConfigPath: "s3://bucket/iamprune.yaml", Now: testNow, Getenv: env(nil)})
	if err == nil {
		t.Fatal("want an error")
	}
}
