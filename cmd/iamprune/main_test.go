package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/iamprune/iamprune/awsapi"
)

// repoRoot locates the module root so tests can use examples/.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// isolateAWS points the SDK's shared config at nothing so a developer's
// ~/.aws never leaks into a test, and gives it dummy credentials. It sets
// the process environment, so only the tests that need it (subprocesses,
// per-service endpoints) use it and stay serial; the others inject.
func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("IAMPRUNE_CONFIG", "")
	// The default state store must never be a developer's real one.
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
}

type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the whole CLI in-process, with an empty environment.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCLIEnv(t, nil, args...)
}

// runCLIEnv runs the whole CLI in-process with environment variables.
func runCLIEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	m := wire(t, &Main{
		Stdin:  bytes.NewReader(nil),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := m.Run(ctx, args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// injected is what a test gives the CLIs it runs in place of the process
// environment: the endpoint of its emulator ("" for no AWS at all) and
// environment variables. A test that injects, instead of isolateAWS and
// t.Setenv, may run in parallel.
type injected struct {
	endpoint string
	env      map[string]string
}

// injections holds each injecting test's injected, by test name.
var injections sync.Map

// inject makes every CLI that runCLI (or wire) makes for t and its
// subtests reach endpoint and read env before its own environment. The
// default state store is a fresh file, never a developer's.
func inject(t *testing.T, endpoint string, env map[string]string) {
	t.Helper()
	e := map[string]string{"IAMPRUNE_STATE": filepath.Join(t.TempDir(), "default-state.db")}
	for k, v := range env {
		e[k] = v
	}
	injections.Store(t.Name(), &injected{endpoint: endpoint, env: e})
	t.Cleanup(func() { injections.Delete(t.Name()) })
}

// noAWS injects an environment without AWS: for tests that read only
// files and snapshots.
func noAWS(t *testing.T) {
	t.Helper()
	inject(t, "", nil)
}

// injectedFor is the injection of t or of the nearest parent test.
func injectedFor(t *testing.T) *injected {
	for name := t.Name(); ; {
		if v, ok := injections.Load(name); ok {
			return v.(*injected)
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			return nil
		}
		name = name[:i]
	}
}

// wire gives m the injection of t, if any: its environment under m's own,
// and the AWS configuration the CLI would load, but pointed at the
// injected endpoint with test credentials, and nothing of the process's.
func wire(t *testing.T, m *Main) *Main {
	inj := injectedFor(t)
	if inj == nil {
		return m
	}
	own := m.Getenv
	m.Getenv = func(k string) string {
		if own != nil {
			if v := own(k); v != "" {
				return v
			}
		}
		return inj.env[k]
	}
	m.LoadAWS = func(ctx context.Context) (aws.Config, *awsapi.Counter, error) {
		if inj.endpoint == "" {
			return aws.Config{}, nil, errors.New("test: this test injected no AWS endpoint")
		}
		return awsapi.LoadConfig(ctx, awsapi.Options{Region: "us-east-1", Endpoint: inj.endpoint,
			Credentials: credentials.NewStaticCredentialsProvider("AKIATESTTESTTEST", "test", ""), Logger: m.log(), Policy: m.awsPolicy()})
	}
	return m
}
