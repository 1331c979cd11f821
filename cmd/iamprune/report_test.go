package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/iamprune/iamprune/emulator"
	"github.com/iamprune/iamprune/snapshot"
)

// TestReport writes the report of the demo snapshot to a file and
// publishes it to the emulator's S3, with its dated copy, as text/html.
// Without a state store the history is left out with a warning, and the
// command still succeeds.
func TestReport(t *testing.T) {
	t.Parallel()
	snapDir, cfgPath := demoPaths(t)
	snap, err := snapshot.LoadDir(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := emulator.New(snap, emulator.Options{Buckets: []string{"reports"}})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	inject(t, url, nil)
	dir := t.TempDir()
	out := filepath.Join(dir, "report.html")

	r := runCLI(t, "report", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow, "--state", filepath.Join(dir, "none.db"),
		"--out", out, "--publish", "s3://reports/iamprune")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := out + "\ns3://reports/iamprune/report.html\ns3://reports/iamprune/2026-11-28/report.html\n"
	if r.stdout != want || !strings.Contains(r.stderr, "history unavailable") {
		t.Errorf("stdout %q, want %q; stderr %s", r.stdout, want, r.stderr)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("History unavailable: there is no state store yet")) || !bytes.Contains(html, []byte(`id="chart-calendar"`)) {
		t.Error("the report lacks its plan part or does not say the history is unavailable")
	}
	client := s3.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "test", "")}, func(o *s3.Options) { o.UsePathStyle = true })
	for _, key := range []string{"iamprune/report.html", "iamprune/2026-11-28/report.html"} {
		body, _, ok := srv.Object("reports", key)
		if !ok || !bytes.Equal(body, html) {
			t.Errorf("s3://reports/%s: published %v, same as the file %v", key, ok, bytes.Equal(body, html))
			continue
		}
		head, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("reports"), Key: aws.String(key)})
		if err != nil || !strings.HasPrefix(aws.ToString(head.ContentType), "text/html") {
			t.Errorf("s3://reports/%s: content type %q, %v", key, aws.ToString(head.ContentType), err)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	t.Parallel()
	noAWS(t)
	snapDir, cfgPath := demoPaths(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "report.html")
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("not a database, not at all, nothing like one"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"report", "--snapshot", snapDir, "--config", cfgPath, "--now", demoNow}
	for _, tt := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"publish not s3", []string{"--out", out, "--publish", "https://reports.example.com/"}, 2, `publish target "https://reports.example.com/" is not an S3 prefix`},
		{"publish without bucket", []string{"--publish", "s3:///prefix/"}, 2, "is not an S3 prefix"},
		{"no output", nil, 2, "give --out FILE, --publish s3://bucket/prefix/, or both"},
		{"unreadable state", []string{"--out", out, "--state", garbage}, 0, "history unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append(slices.Clone(base), tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.err) {
				t.Errorf("exit %d, want %d; stderr %s", r.code, tt.code, r.stderr)
			}
			html, err := os.ReadFile(out)
			if tt.code != 0 {
				if err == nil {
					t.Error("a report was written")
				}
				return
			}
			if err != nil || !bytes.Contains(html, []byte("History unavailable: the state store could not be opened")) {
				t.Errorf("the report does not say why the history is unavailable: %v", err)
			}
		})
	}
}
