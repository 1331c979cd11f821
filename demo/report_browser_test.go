package demo_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/app"
	"github.com/iamprune/iamprune/demo"
)

// -update rewrites docs/report.png, the screenshot of the demo report:
// go test ./demo -run TestReportInBrowser -update
var update = flag.Bool("update", false, "rewrite docs/report.png from the demo report")

// chromium returns the browser the report is tested in: $IAMPRUNE_TEST_CHROMIUM,
// else chromium on PATH. Without one the test is skipped, except under
// CI=true, where scripts/test installs it and its absence is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("IAMPRUNE_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: set IAMPRUNE_TEST_CHROMIUM or install chromium (scripts/test does); the report's browser test cannot run")
	}
	t.Skip("no Chromium (set IAMPRUNE_TEST_CHROMIUM or install chromium): the report's browser test is skipped")
	return ""
}

// demoReport plays the demo story and returns its HTML report's path
// and the plan the report embeds.
func demoReport(t *testing.T) (string, *iamprune.Plan) {
	t.Helper()
	now := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "report.html")
	err := demo.Run(context.Background(), demo.Options{
		Out: io.Discard, Output: "table", Report: path,
		Env:   app.Env{Getenv: func(string) string { return "" }, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)},
		Owner: iamprune.LockOwner{Host: "test", PID: 1, StartedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="iamprune-plan">(.*?)</script>`).FindSubmatch(html)
	if m == nil {
		t.Fatal("the report embeds no plan")
	}
	var p iamprune.Plan
	if err := json.Unmarshal(m[1], &p); err != nil {
		t.Fatal(err)
	}
	return path, &p
}

// wantTiles counts the plan JSON's entries the way the tiles are defined
// (docs/report.md).
func wantTiles(p *iamprune.Plan) map[string]int {
	want := map[string]int{"findings": p.Findings, "remediate": 0, "notify": 0, "exempt": 0, "protected": 0, "held": 0}
	for _, a := range p.Actions {
		switch {
		case a.Hold != "":
			want["held"]++
		case a.Kind == "exempt":
			want["exempt"]++
		case a.Kind == "notify":
			want["notify"]++
		case a.Kind == "protected":
			want["protected"]++
		case a.Done != nil: // already made: nothing left to remediate
		case slices.Contains([]string{"deactivate-access-key", "delete-access-key", "delete-login-profile", "quarantine-role", "deny-unused-services", "rewrite-policy"}, string(a.Kind)):
			want["remediate"]++
		}
	}
	return want
}

// browserErrors collects the page's console errors and warnings,
// uncaught exceptions and browser log errors (a Content-Security-Policy
// violation or a blocked request is one).
type browserErrors struct {
	mu   sync.Mutex
	list []string
}

func (b *browserErrors) listen(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.list = append(b.list, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				b.mu.Unlock()
			}
		}
	}()
}

func (b *browserErrors) get() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.list)
}

// TestReportInBrowser opens the demo's report (after its apply and
// rollback) in headless Chromium: the tiles show the plan JSON's counts,
// every chart is drawn with a size, the entries table filters and sorts,
// the page logs no error, and without script everything is still shown.
func TestReportInBrowser(t *testing.T) {
	exe := chromium(t)
	path, plan := demoReport(t)
	want := wantTiles(plan)
	if want["held"] == 0 || want["exempt"] == 0 || want["notify"] == 0 {
		t.Fatalf("the demo's last plan should have held, exempt and notify entries: %v", want)
	}

	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 2000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTime()
	var errs browserErrors
	errs.listen(ctx)
	url := "file://" + filepath.ToSlash(path)
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("t-entries"))); err != nil {
		t.Fatal(err)
	}
	eval := func(t *testing.T, js string, v any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatal(err)
		}
		if v != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
		}
	}

	t.Run("tiles", func(t *testing.T) {
		var got map[string]int
		eval(t, `Object.fromEntries([...document.querySelectorAll("[data-tile]")].map(e => [e.dataset.tile, Number(e.querySelector(".n").textContent)]))`, &got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("tiles show %v, the plan JSON counts %v", got, want)
		}
	})

	t.Run("charts", func(t *testing.T) {
		var boxes []struct {
			ID     string  `json:"id"`
			W      float64 `json:"w"`
			H      float64 `json:"h"`
			Filled int     `json:"filled"`
		}
		eval(t, `[...document.querySelectorAll("svg.chart")].map(s => { const r = s.getBoundingClientRect();
			return {id: s.id, w: r.width, h: r.height, filled: [...s.querySelectorAll("rect")].filter(x => { const b = x.getBoundingClientRect();
				return b.width > 0 && b.height > 0 && x.getAttribute("fill") !== "#ebedf0" && !x.classList.contains("key"); }).length}; })`, &boxes)
		if len(boxes) != 8 {
			t.Errorf("%d charts, want 8 (6 of the plan, 2 of the history): %+v", len(boxes), boxes)
		}
		for _, b := range boxes {
			// Every chart draws real numbers from the demo: something filled.
			if b.W < 100 || b.H < 40 || b.Filled == 0 {
				t.Errorf("chart %s is %.0fx%.0f with %d drawn bars or days", b.ID, b.W, b.H, b.Filled)
			}
		}
	})

	t.Run("filter and sort", func(t *testing.T) {
		visible := func() int {
			var n int
			eval(t, `[...document.querySelectorAll("#t-entries tr[data-row]")].filter(r => r.offsetParent !== null).length`, &n)
			return n
		}
		if n := visible(); n != len(plan.Actions) {
			t.Fatalf("%d rows visible before filtering, want %d", n, len(plan.Actions))
		}
		search := `[data-table="t-entries"] input[name=q]`
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(search), "breakglass")); err != nil {
			t.Fatal(err)
		}
		match := 0
		for _, a := range plan.Actions {
			if strings.Contains(strings.ToLower(a.Principal+a.Target+a.Reason), "breakglass") {
				match++
			}
		}
		if n := visible(); n != match || match == 0 || match == len(plan.Actions) {
			t.Errorf("searching breakglass shows %d rows, want %d of %d", n, match, len(plan.Actions))
		}
		// Clear the search, then filter by kind.
		eval(t, `(() => { const q = document.querySelector('`+search+`'); q.value = ""; q.dispatchEvent(new Event("input"));
			const k = document.querySelector('[data-table="t-entries"] select'); k.value = "notify"; k.dispatchEvent(new Event("change")); return 0; })()`, nil)
		if n := visible(); n != want["notify"] {
			t.Errorf("kind notify shows %d rows, want %d", n, want["notify"])
		}
		var days []float64
		eval(t, `(() => { const k = document.querySelector('[data-table="t-entries"] select'); k.value = ""; k.dispatchEvent(new Event("change"));
			[...document.querySelectorAll("#t-entries th")].find(th => th.textContent.includes("Unused days")).querySelector("button").click();
			const col = [...document.querySelectorAll("#t-entries th")].findIndex(th => th.textContent.includes("Unused days"));
			return [...document.querySelectorAll("#t-entries tr[data-row]")].map(r => Number(r.cells[col].textContent)); })()`, &days)
		if len(days) != len(plan.Actions) || !slices.IsSorted(days) || days[0] == days[len(days)-1] {
			t.Errorf("sorting by unused days gives %v", days)
		}
	})

	if *update {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"?screenshot"), chromedp.WaitVisible(chromedp.ID("t-entries")), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "report.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("print", func(t *testing.T) {
		media := func(m string) {
			if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m}); err != nil {
				t.Fatal(err)
			}
		}
		media("print")
		defer media("")
		var got struct {
			Controls string `json:"controls"`
			Charts   string `json:"charts"`
		}
		eval(t, `({controls: getComputedStyle(document.querySelector('[data-table="t-entries"]')).display,
			charts: getComputedStyle(document.querySelector(".charts")).display})`, &got)
		if got.Controls != "none" || got.Charts != "block" {
			t.Errorf("printed, the filter controls display %q (want none) and the charts %q (want block, one under the other)", got.Controls, got.Charts)
		}
	})

	t.Run("without script", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("t-entries"))); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Rows   int  `json:"rows"`
			Hidden bool `json:"hidden"`
		}
		raw, err := chromedp.Run(tab, chromedp.Evaluate[[]byte](`({rows: [...document.querySelectorAll("#t-entries tr[data-row]")].filter(r => r.offsetParent !== null).length,
			hidden: document.querySelector('[data-table="t-entries"]').hidden})`))
		if err != nil || json.Unmarshal(raw, &got) != nil {
			t.Fatal(err, string(raw))
		}
		if got.Rows != len(plan.Actions) || !got.Hidden {
			t.Errorf("without script: %d rows shown (want %d), filter controls hidden %v (want true)", got.Rows, len(plan.Actions), got.Hidden)
		}
	})

	if e := errs.get(); len(e) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(e, "\n"))
	}
}
