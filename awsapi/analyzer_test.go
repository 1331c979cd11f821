package awsapi

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

var update = flag.Bool("update", false, "rewrite want.json files from the current output")

const testAnalyzer = "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/unused"

func TestDiscoverAnalyzer(t *testing.T) {
	tests := []struct {
		name     string
		analyzer string // "" = auto
		want     string
		wantErr  string // substring; the error must be EINVALID
	}{
		{name: "none", wantErr: "no active unused-access analyzer in eu-west-1; create one or pass --analyzer ARN"},
		{name: "one-org-second-page", want: "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/org-unused"},
		{name: "one-of-each", want: "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/account-unused"},
		{name: "two-account", wantErr: "2 active unused-access analyzers in eu-west-1 (arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/a, arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/b); pass --analyzer ARN"},
		{name: "explicit", analyzer: testAnalyzer, want: testAnalyzer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			if dir := filepath.Join("testdata", "discover", tt.name); dirExists(dir) {
				fake.load(dir)
			}
			analyzer := tt.analyzer
			if analyzer == "" {
				analyzer = iamprune.AnalyzerAuto
			}
			src := NewFindingSource(fake.start(nil), analyzer)
			got, err := src.AnalyzerARN(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || iamprune.ErrorCode(err) != iamprune.EINVALID {
					t.Fatalf("err = %v (code %q), want EINVALID containing %q", err, iamprune.ErrorCode(err), tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("AnalyzerARN = %q, %v; want %q", got, err, tt.want)
			}
			// A second call must not list again.
			src.AnalyzerARN(context.Background())
			if tt.wantErr == "" {
				fake.checkCalls()
			}
		})
	}
}

func dirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

type findingsGolden struct {
	Findings []iamprune.Finding `json:"findings"`
	Warnings []iamprune.Warning `json:"warnings"`
}

// TestFindings converts the wire responses under testdata/findings/<case>
// and compares the result with want.json.
func TestFindings(t *testing.T) {
	for _, name := range []string{"merge", "warnings"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "findings", name)
			fake := newFake(t)
			fake.load(dir)
			fake.check = checkActiveFilter(t)
			findings, warnings, err := NewFindingSource(fake.start(nil), testAnalyzer).Findings(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			fake.checkCalls()
			compareGolden(t, filepath.Join(dir, "want.json"), findingsGolden{findings, warnings})
		})
	}
}

// checkActiveFilter fails the test unless ListFindingsV2 asks for the
// analyzer's ACTIVE findings only.
func checkActiveFilter(t *testing.T) func(string, *http.Request, []byte) {
	return func(key string, r *http.Request, body []byte) {
		if !strings.HasPrefix(key, "access-analyzer.ListFindingsV2") {
			return
		}
		var in struct {
			AnalyzerArn string                         `json:"analyzerArn"`
			Filter      map[string]map[string][]string `json:"filter"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Errorf("ListFindingsV2 body: %v", err)
		}
		if in.AnalyzerArn != testAnalyzer || fmt.Sprint(in.Filter) != "map[status:map[eq:[ACTIVE]]]" {
			t.Errorf("ListFindingsV2 analyzer %q filter %v; want status eq ACTIVE", in.AnalyzerArn, in.Filter)
		}
	}
}

// compareGolden compares got, as indented JSON, with the file; -update
// rewrites the file.
func compareGolden(t *testing.T, path string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs; got:\n%s", path, b)
	}
}

// TestFindingsOrderAndProgress reads many findings whose details arrive out
// of order and checks that the output keeps the ListFindingsV2 order, each
// finding is read once, and progress only grows.
func TestFindingsOrderAndProgress(t *testing.T) {
	const n, pageSize = 25, 4
	fake := newFake(t)
	fake.pagedRoles(n, pageSize, "f%02d")
	fake.check = func(key string, _ *http.Request, _ []byte) {
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
	}
	counter := NewCounter()
	src := NewFindingSource(fake.start(counter), testAnalyzer, WithWorkers(6))
	var (
		mu       sync.Mutex
		progress [][2]int
	)
	src.OnProgress = func(done, total int) {
		mu.Lock()
		progress = append(progress, [2]int{done, total})
		mu.Unlock()
	}
	findings, warnings, err := src.Findings(context.Background())
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Findings: %v, warnings %v", err, warnings)
	}
	if len(findings) != n {
		t.Fatalf("got %d findings, want %d", len(findings), n)
	}
	for i, f := range findings {
		if want := fmt.Sprintf("f%02d", i); f.ID != want || f.LastAccessed != nil {
			t.Errorf("findings[%d] = %s (last accessed %v), want %s never used", i, f.ID, f.LastAccessed, want)
		}
	}
	fake.checkCalls()
	if len(progress) != n+1 || progress[0] != [2]int{0, n} || progress[n] != [2]int{n, n} {
		t.Errorf("progress = %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i][0] != progress[i-1][0]+1 {
			t.Errorf("progress not increasing by one: %v", progress)
			break
		}
	}
	byOp := counter.ByOperation()
	if byOp["AccessAnalyzer.GetFindingV2"] != n || byOp["AccessAnalyzer.ListFindingsV2"] != 7 || counter.Total() != n+7 {
		t.Errorf("counter = %d %v", counter.Total(), byOp)
	}
}

func TestFindingsErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakeAWS)
		wantErr string
	}{
		{
			name: "list",
			setup: func(f *fakeAWS) {
				f.add("access-analyzer.ListFindingsV2", 403, `{"__type":"AccessDeniedException","message":"no"}`)
			},
			wantErr: "accessanalyzer: cannot list findings of " + testAnalyzer + ": ",
		},
		{
			name: "get second page",
			setup: func(f *fakeAWS) {
				f.add("access-analyzer.ListFindingsV2", 200, `{"findings":[{"id":"f1"}]}`)
				f.add("access-analyzer.GetFindingV2.f1", 200, `{"id":"f1","findingType":"UnusedPermission","findingDetails":[],"nextToken":"p2"}`)
				f.add("access-analyzer.GetFindingV2.f1.p2", 404, `{"__type":"ResourceNotFoundException","message":"gone"}`)
			},
			wantErr: "accessanalyzer: cannot get finding f1 of " + testAnalyzer + ": ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			tt.setup(fake)
			_, _, err := NewFindingSource(fake.start(nil), testAnalyzer).Findings(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			fake.checkCalls()
		})
	}
}

// TestExplicitAnalyzerRegion checks that an analyzer ARN is read in its own
// region, not the configured one.
func TestExplicitAnalyzerRegion(t *testing.T) {
	const arn = "arn:aws:access-analyzer:ap-south-1:111122223333:analyzer/unused"
	fake := newFake(t)
	fake.add("access-analyzer.ListFindingsV2", 200, `{"findings":[]}`)
	fake.check = func(_ string, r *http.Request, _ []byte) {
		if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/ap-south-1/access-analyzer/") {
			t.Errorf("request signed for the wrong region: %s", auth)
		}
	}
	cfg := fake.start(nil) // configured for eu-west-1
	findings, warnings, err := NewFindingSource(cfg, arn).Findings(context.Background())
	if err != nil || len(findings) != 0 || len(warnings) != 0 {
		t.Fatalf("Findings = %v, %v, %v", findings, warnings, err)
	}
	fake.checkCalls()
}
