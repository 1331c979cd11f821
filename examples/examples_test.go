package examples

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/url"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/config"
	"github.com/iamprune/iamprune/snapshot"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(Demo, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lineOf turns a byte offset into a 1-based line number for messages.
func lineOf(b []byte, off int64) int {
	return bytes.Count(b[:min(int(off), len(b))], []byte("\n")) + 1
}

func TestDemoJSONParses(t *testing.T) {
	n := 0
	err := fs.WalkDir(Demo, "demo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		n++
		b := read(t, p)
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			if se, ok := err.(*json.SyntaxError); ok {
				t.Errorf("%s:%d: %v", p, lineOf(b, se.Offset), err)
			} else {
				t.Errorf("%s: %v", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Errorf("found %d JSON files in the demo, want at least 6", n)
	}
}

func TestDemoFiles(t *testing.T) {
	required := []string{
		snapshot.MetaFile, snapshot.AuthDetailsFile, snapshot.AccessKeysFile,
		snapshot.LoginProfilesFile, snapshot.FindingsFile, snapshot.AnalyzerFile,
	}
	for _, f := range required {
		if _, err := fs.Stat(Demo, path.Join(DemoSnapshotDir, f)); err != nil {
			t.Errorf("snapshot file missing from the embedded FS: %v", err)
		}
	}
	for _, f := range []string{DemoConfig, DemoExceptions, DemoAllowlist} {
		if _, err := fs.Stat(Demo, f); err != nil {
			t.Errorf("demo file missing from the embedded FS: %v", err)
		}
	}
}

// decodeStrict decodes a snapshot file into its AWS shape, rejecting field
// names the shape does not know: a misspelt key would silently vanish.
func decodeStrict(t *testing.T, file string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(read(t, path.Join(DemoSnapshotDir, file))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

type demo struct {
	meta     snapshot.Meta
	auth     snapshot.AuthDetails
	keys     []snapshot.AccessKey
	logins   []snapshot.LoginProfile
	findings []snapshot.Finding
	analyzer snapshot.Analyzer
}

func loadDemo(t *testing.T) *demo {
	var d demo
	decodeStrict(t, snapshot.MetaFile, &d.meta)
	decodeStrict(t, snapshot.AuthDetailsFile, &d.auth)
	decodeStrict(t, snapshot.AccessKeysFile, &d.keys)
	decodeStrict(t, snapshot.LoginProfilesFile, &d.logins)
	decodeStrict(t, snapshot.FindingsFile, &d.findings)
	decodeStrict(t, snapshot.AnalyzerFile, &d.analyzer)
	return &d
}

func TestDemoMeta(t *testing.T) {
	m := loadDemo(t).meta
	want := snapshot.Meta{
		AccountID: "111122223333", Partition: "aws", Region: "us-east-1",
		CapturedAt: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		CallerARN:  "arn:aws:sts::111122223333:assumed-role/iamprune-runner/demo",
	}
	if !m.CapturedAt.Equal(want.CapturedAt) {
		t.Errorf("captured_at = %v, want %v", m.CapturedAt, want.CapturedAt)
	}
	m.CapturedAt = want.CapturedAt
	if m != want {
		t.Errorf("meta.json = %+v, want %+v", m, want)
	}
}

// TestDemoTimestamps checks every date-time is RFC 3339 in UTC with "Z".
func TestDemoTimestamps(t *testing.T) {
	dateTime := regexp.MustCompile(`"\d{4}-\d{2}-\d{2}T[^"]*"`)
	utc := regexp.MustCompile(`^"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"$`)
	err := fs.WalkDir(Demo, DemoSnapshotDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b := read(t, p)
		for _, loc := range dateTime.FindAllIndex(b, -1) {
			if s := b[loc[0]:loc[1]]; !utc.Match(s) {
				t.Errorf("%s:%d: timestamp %s is not RFC 3339 UTC (…Z)", p, lineOf(b, int64(loc[0])), s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDemoPolicyEncodings checks the demo exercises both policy document
// encodings and that each string form is URL-encoded JSON.
func TestDemoPolicyEncodings(t *testing.T) {
	var raw any
	if err := json.Unmarshal(read(t, path.Join(DemoSnapshotDir, snapshot.AuthDetailsFile)), &raw); err != nil {
		t.Fatal(err)
	}
	docKeys := map[string]bool{"PolicyDocument": true, "AssumeRolePolicyDocument": true, "Document": true}
	var objects, strs int
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if !docKeys[k] {
					walk(c)
					continue
				}
				switch c := c.(type) {
				case map[string]any:
					objects++
				case string:
					strs++
					dec, err := url.QueryUnescape(c)
					if err != nil || !json.Valid([]byte(dec)) || strings.Contains(c, "+") {
						t.Errorf("%s %q is not URL-encoded JSON", k, c)
					}
				default:
					t.Errorf("%s is %T, want an object or a string", k, c)
				}
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(raw)
	if objects == 0 || strs == 0 {
		t.Errorf("policy documents: %d as objects, %d as strings; want both encodings", objects, strs)
	}
}

// TestDemoDeliberateGaps checks that the only findings naming a missing
// principal or key are the ones the scenario means to be skipped, so that a
// typo in an ARN or key id cannot turn an entry into an accidental skip.
func TestDemoDeliberateGaps(t *testing.T) {
	d := loadDemo(t)
	principals := map[string]bool{}
	users := map[string]string{} // ARN -> name
	for _, u := range d.auth.UserDetailList {
		principals[u.Arn] = true
		users[u.Arn] = u.UserName
	}
	for _, r := range d.auth.RoleDetailList {
		principals[r.Arn] = true
	}
	keys := map[string]string{} // key id -> user name
	for _, k := range d.keys {
		keys[k.AccessKeyId] = k.UserName
	}
	var gone, goneKeys []string
	for _, f := range d.findings {
		if f.ResourceOwnerAccount != d.meta.AccountID {
			t.Errorf("finding %s: account %s, want %s", f.Id, f.ResourceOwnerAccount, d.meta.AccountID)
		}
		if !principals[f.Resource] {
			gone = append(gone, f.Resource)
			continue
		}
		for _, det := range f.FindingDetails {
			if k := det.UnusedIamUserAccessKeyDetails; k != nil && keys[k.AccessKeyId] != users[f.Resource] {
				goneKeys = append(goneKeys, k.AccessKeyId)
			}
		}
	}
	if want := []string{"arn:aws:iam::111122223333:user/dave"}; !reflect.DeepEqual(gone, want) {
		t.Errorf("findings naming a missing principal: %q, want %q", gone, want)
	}
	if len(goneKeys) != 1 {
		t.Errorf("findings naming a deleted key: %q, want exactly frank's old key", goneKeys)
	}
}

func TestDemoFindingTypes(t *testing.T) {
	d := loadDemo(t)
	ids := map[string]bool{}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, f := range d.findings {
		if !iamprune.FindingType(f.FindingType).Valid() {
			t.Errorf("finding %s: unknown type %q", f.Id, f.FindingType)
		}
		if !uuid.MatchString(f.Id) || ids[f.Id] {
			t.Errorf("finding id %q is not a fresh UUID", f.Id)
		}
		ids[f.Id] = true
		if len(f.FindingDetails) == 0 {
			t.Errorf("finding %s has no details", f.Id)
		}
	}
	if d.analyzer.Type != "ACCOUNT_UNUSED_ACCESS" || d.analyzer.Status != "ACTIVE" {
		t.Errorf("analyzer.json: type %q status %q, want an active ACCOUNT_UNUSED_ACCESS analyzer", d.analyzer.Type, d.analyzer.Status)
	}
}

func decodeYAML(t *testing.T, name string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(read(t, name)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestDemoConfig(t *testing.T) {
	// The config package's own strict parser, defaults and validation.
	c, err := config.Parse(read(t, DemoConfig), DemoConfig)
	if err != nil {
		t.Fatalf("%s: %v", DemoConfig, err)
	}
	// The README's expected plan assumes the default rules.
	if def := iamprune.DefaultConfig(); !reflect.DeepEqual(c.Rules, def.Rules) || c.Limits != def.Limits {
		t.Errorf("%s: rules %v limits %v, want the defaults %v %v", DemoConfig, c.Rules, c.Limits, def.Rules, def.Limits)
	}
	if !slices.Contains(c.Protected, "arn:aws:iam::*:role/BreakGlass*") {
		t.Errorf("%s: protected = %q, want the BreakGlass glob", DemoConfig, c.Protected)
	}
	if c.Exceptions != "exceptions.yaml" {
		t.Errorf("%s: exceptions = %q, want exceptions.yaml", DemoConfig, c.Exceptions)
	}
}

func TestDemoExceptions(t *testing.T) {
	// The documented exception keys; KnownFields rejects any other.
	var f struct {
		Exceptions []struct {
			Principal    string   `yaml:"principal"`
			FindingTypes []string `yaml:"finding_types"`
			Services     []string `yaml:"services"`
			Reason       string   `yaml:"reason"`
			Owner        string   `yaml:"owner"`
			Expires      string   `yaml:"expires"`
			Ticket       string   `yaml:"ticket"`
		} `yaml:"exceptions"`
	}
	decodeYAML(t, DemoExceptions, &f)
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var live, expired []string
	for i, e := range f.Exceptions {
		exp, err := time.Parse(time.DateOnly, e.Expires)
		if err != nil || e.Principal == "" || e.Reason == "" || e.Owner == "" {
			t.Errorf("%s: exceptions[%d] needs principal, reason, owner and a YYYY-MM-DD expires: %+v", DemoExceptions, i, e)
		}
		if (iamprune.Exception{Expires: exp}).Expired(now) {
			expired = append(expired, e.Principal)
		} else {
			live = append(live, e.Principal)
		}
	}
	sort.Strings(live)
	if want := []string{"arn:aws:iam::111122223333:role/Forensics", "arn:aws:iam::111122223333:role/WebAppRole"}; !reflect.DeepEqual(live, want) {
		t.Errorf("unexpired exceptions: %q, want %q", live, want)
	}
	if want := []string{"arn:aws:iam::111122223333:role/LegacyBatchRole"}; !reflect.DeepEqual(expired, want) {
		t.Errorf("expired exceptions: %q, want %q", expired, want)
	}
}

func TestDemoAllowlist(t *testing.T) {
	var arns []string
	var comments, blanks int
	for _, line := range strings.Split(string(read(t, DemoAllowlist)), "\n") {
		switch line = strings.TrimSpace(line); {
		case line == "":
			blanks++
		case strings.HasPrefix(line, "#"):
			comments++
		default:
			arns = append(arns, line)
		}
	}
	if want := []string{"arn:aws:iam::111122223333:role/Forensics"}; !reflect.DeepEqual(arns, want) {
		t.Errorf("allowlist ARNs = %q, want %q", arns, want)
	}
	if comments == 0 || blanks < 2 { // one blank line plus the final newline
		t.Errorf("allowlist should show a comment and a blank line (comments %d, blanks %d)", comments, blanks)
	}
}
