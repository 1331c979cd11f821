package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iamprune/iamprune"
)

// loadDigest reads testdata/channels/<name>/digest.json.
func loadDigest(t *testing.T, name string) *iamprune.Digest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "channels", name, "digest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d iamprune.Digest
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &d
}

// sampleMessage is the fixture digest with text and HTML renderings that
// exercise encodings (non-ASCII, long lines, a leading dot, markup).
func sampleMessage(t *testing.T) iamprune.Message {
	t.Helper()
	d := loadDigest(t, "digest")
	var text, html strings.Builder
	html.WriteString("<html><body>\n")
	for _, p := range d.Principals {
		fmt.Fprintf(&text, "%s\n", p.ARN)
		fmt.Fprintf(&html, "<h2>%s</h2>\n", strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(p.ARN))
		for _, it := range p.Items {
			fmt.Fprintf(&text, "  - %s %s on %s: %s\n", it.Kind, it.Target, it.RemediateOn, it.Reason)
			fmt.Fprintf(&html, "<p>%s on <b>%s</b></p>\n", it.Kind, it.RemediateOn)
		}
	}
	text.WriteString(".a line starting with a dot survives SMTP dot-stuffing\n")
	text.WriteString(strings.Repeat("long line ", 30) + "ends here — with ünïcödé\n")
	html.WriteString("</body></html>\n")
	return iamprune.Message{
		Subject: "iamprune: 4 items for team-a — first remediation on 2026-12-05",
		Text:    text.String(),
		HTML:    html.String(),
		Digest:  d,
	}
}

// bigDigest has n principals with items items each.
func bigDigest(n, items int, reason string) *iamprune.Digest {
	d := &iamprune.Digest{
		Account:     "111122223333",
		GeneratedAt: time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC),
		Route:       "default",
	}
	for i := range n {
		p := iamprune.DigestPrincipal{ARN: fmt.Sprintf("arn:aws:iam::111122223333:user/u%03d", i)}
		for j := range items {
			p.Items = append(p.Items, iamprune.DigestItem{
				ActionID:    fmt.Sprintf("%03d-%03d", i, j),
				FindingType: iamprune.UnusedIAMUserAccessKey,
				Kind:        iamprune.KindDeactivateAccessKey,
				Target:      fmt.Sprintf("AKIA%016d", i*1000+j),
				UnusedDays:  100,
				RemediateOn: "2026-12-05",
				Reason:      reason,
			})
		}
		d.Principals = append(d.Principals, p)
	}
	return d
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// wantErrClass checks err against "", "temporary" or "permanent".
func wantErrClass(t *testing.T, err error, want string) {
	t.Helper()
	var p *PermanentError
	switch want {
	case "":
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	case "temporary":
		if err == nil || !Temporary(err) {
			t.Fatalf("want a temporary error, got %v (permanent=%v)", err, errors.As(err, &p))
		}
	case "permanent":
		if err == nil || Temporary(err) || !errors.As(err, &p) {
			t.Fatalf("want a permanent error, got %v", err)
		}
	default:
		t.Fatalf("bad want %q", want)
	}
}
