package audit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/audit"
)

var fixed = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestLogSchema(t *testing.T) {
	a := iamprune.Action{
		ID: "a1", FindingID: "f1", Account: "111122223333",
		Principal:   "arn:aws:iam::111122223333:user/alice",
		FindingType: iamprune.UnusedIAMUserAccessKey, Kind: iamprune.KindDeactivateAccessKey,
		Target: "AKIAALICE0000000001",
	}
	tests := []struct {
		name string
		ev   audit.Event
		want map[string]any
	}{
		{
			name: "action",
			ev:   audit.ForAction(audit.ActionSkipped, "r1", a, iamprune.ResultSkipped, "finding is now ARCHIVED"),
			want: map[string]any{
				"time": "2026-11-28T12:00:00Z", "event": "action-skipped", "run_id": "r1",
				"account": "111122223333", "action_id": "a1", "principal": a.Principal,
				"finding_id": "f1", "finding_type": "UnusedIAMUserAccessKey",
				"kind": "deactivate-access-key", "target": "AKIAALICE0000000001",
				"services": []any{}, "status": "skipped", "detail": "finding is now ARCHIVED",
			},
		},
		{
			name: "run",
			ev:   audit.ForRun(audit.RunRefused, iamprune.Run{ID: "r2", Kind: iamprune.RunApply, Account: "111122223333", Status: iamprune.RunRefused, Detail: "too many"}),
			want: map[string]any{
				"time": "2026-11-28T12:00:00Z", "event": "run-refused", "run_id": "r2",
				"account": "111122223333", "action_id": "", "principal": "", "finding_id": "",
				"finding_type": "", "kind": "apply", "target": "", "services": []any{},
				"status": "refused", "detail": "too many",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := audit.New(&buf, func() time.Time { return fixed.In(time.FixedZone("X", 3600)) })
			if err := l.Log(tt.ev); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(buf.String(), "\n") || strings.Count(buf.String(), "\n") != 1 {
				t.Fatalf("want exactly one line, got %q", buf.String())
			}
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestLogKeepsGivenTime(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(&buf, nil)
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := l.Log(audit.Event{Time: at, Event: audit.RunStarted}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"time":"2020-01-02T03:04:05Z"`) {
		t.Errorf("time not kept: %s", buf.String())
	}
}

func TestLogConcurrent(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(&buf, nil)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = l.Log(audit.Event{Event: audit.ActionDone, ActionID: fmt.Sprint(i), Detail: strings.Repeat("x", 500)})
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("interleaved line %q: %v", sc.Text(), err)
		}
		seen[e.ActionID] = true
	}
	if len(seen) != n {
		t.Errorf("got %d distinct events, want %d", len(seen), n)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriteError(t *testing.T) {
	l := audit.New(failWriter{}, nil)
	if err := l.Log(audit.Event{Event: audit.RunStarted}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Log error = %v", err)
	}
	_ = l.Log(audit.Event{Event: audit.RunFinished})
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "run-started") {
		t.Errorf("Err() = %v, want the first error", err)
	}
}

func TestNilLogger(t *testing.T) {
	var l *audit.Logger
	if err := l.Log(audit.Event{Event: audit.RunStarted}); err != nil {
		t.Error(err)
	}
	if err := l.Err(); err != nil {
		t.Error(err)
	}
}
