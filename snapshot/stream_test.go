package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadFindings reads dir's findings the whole-document way (LoadDir) and
// the streaming way (OpenDir), each as far as it gets.
func loadFindings(dir string, open func(string) (*Snapshot, error)) (got any, err error) {
	s, err := open(dir)
	if err != nil {
		return nil, err
	}
	fs, ws, err := s.Findings(context.Background())
	if err != nil {
		return nil, err
	}
	return []any{fs, ws}, nil
}

// TestOpenDirMatchesLoadDir holds streaming to the whole-document reader
// on every test folder: the same findings and warnings, or the same error
// (file, line, column and field), whatever is wrong with the file.
func TestOpenDirMatchesLoadDir(t *testing.T) {
	t.Parallel()
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, d := range dirs {
		dir := filepath.Join("testdata", d.Name())
		want, wantErr := loadFindings(dir, LoadDir)
		got, gotErr := loadFindings(dir, OpenDir)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("%s: streaming error %v, whole-document error %v", d.Name(), gotErr, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: streaming gives %+v\nwhole document gives %+v", d.Name(), got, want)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("compared %d folders, want the whole testdata", checked)
	}
}

// TestOpenDirBadElementLate puts bad input far into a large findings.json,
// after many good elements and also with a syntax error after it: the
// syntax error wins, as it does when the document is read whole.
func TestOpenDirBadElementLate(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile("testdata/good/findings.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, tail := range map[string]string{
		"type":           `,{"id":"x","status":7}]`,
		"syntax-after":   `,{"id":"x","status":7},{"id" 1}]`,
		"trailing":       `] x`,
		"detail-missing": `,{"id":"x","status":"ACTIVE","resource":"r","findingType":"UnusedIAMRole","findingDetails":[{"unusedIamUserAccessKeyDetails":{}}]}]`,
	} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.CopyFS(dir, os.DirFS("testdata/good")); err != nil {
			t.Fatal(err)
		}
		body := good[:len(good)-2] // drop "]\n"
		for len(body) > 0 && body[len(body)-1] != '}' {
			body = body[:len(body)-1]
		}
		data := append(append([]byte{}, body...), "\n"+tail+"\n"...)
		if err := os.WriteFile(filepath.Join(dir, FindingsFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, wantErr := loadFindings(dir, LoadDir)
		_, gotErr := loadFindings(dir, OpenDir)
		if wantErr == nil || gotErr == nil || gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: streaming error %v, want %v", name, gotErr, wantErr)
		}
	}
}

// TestFastPathsMatchPositioned holds the one-pass decoders of the
// authorization details, access keys and login profiles to the positioned
// ones on every test folder (and a generated-looking edge: null lists):
// where the fast path accepts a file, the positioned reader gives the same
// value.
func TestFastPathsMatchPositioned(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*/" + AuthDetailsFile)
	extra := filepath.Join(t.TempDir(), AuthDetailsFile)
	if err := os.WriteFile(extra, []byte(`{"UserDetailList": null, "roledetaillist": [], "GroupDetailList": [null], "Marker": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for _, name := range append(files, extra) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := loadAuthFast(data)
		slow, err := loadAuthPositioned(&file{name: name, data: data})
		if ok {
			accepted++
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s: fast path accepts %+v, positioned reader gives %+v, %v", name, fast, slow, err)
			}
		}
	}
	keys, _ := filepath.Glob("testdata/*/" + AccessKeysFile)
	for _, name := range keys {
		data, _ := os.ReadFile(name)
		f := &file{name: name, data: data}
		got, gotErr := decodeList(f, "access-keys", checkAccessKey)
		want, wantErr := decodeArray(f, "access-keys", decodeInto[AccessKey](checkAccessKey))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fast %+v, %v; positioned %+v, %v", name, got, gotErr, want, wantErr)
		}
		accepted++
	}
	if accepted < 5 {
		t.Errorf("fast paths accepted only %d files", accepted)
	}
}

// TestOpenDirOddFiles compares streaming with the whole-document reader on
// findings.json files of odd shapes: the same findings or the same error.
func TestOpenDirOddFiles(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``, ` `, `null`, `null x`, `nul`, `[`, `[]`, ` [ ] `, `[{}`, `[{},]`, `[{} {}]`, `[1]`, `[null]`, `["x"]`, `{}`, `[]]`,
		`[{"id":"a","status":"ACTIVE","resource":"r","findingType":"UnusedIAMRole","findingDetails":[{"unusedIamRoleDetails":{"lastAccessed":"x}"}}]}]`,
		`[{"id":"a\"}","status":"ACTIVE","resource":"r","findingType":"UnusedIAMRole","findingDetails":[{"unusedIamRoleDetails":{}}]}]`,
		"[{\"id\":\"a\",\"status\":\"ACTIVE\",\"resource\":\"r\",\"findingType\":\"UnusedIAMRole\",\"findingDetails\":[{\"unusedIamRoleDetails\":{}}]}]\n\t",
	} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("testdata/minimal")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, FindingsFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		want, wantErr := loadFindings(dir, LoadDir)
		got, gotErr := loadFindings(dir, OpenDir)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("findings.json %q: streaming %v, %v; whole document %v, %v", body, got, gotErr, want, wantErr)
		}
	}
}

// TestOneMemberMatchesSplit holds the union element shortcut to the
// general object splitter.
func TestOneMemberMatchesSplit(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`{"a":{}}`, ` { "a" : { "b" : [1, {"c": "}"}] } } `, `{"a":"x,y"}`, `{"a":"\"},"}`, `{"a":1}`, `{"a":null}`,
		`{"a":{},"b":{}}`, `{"a":{"x":1},"a":{}}`, `{}`, `{"a\u0062":{}}`, `[]`, `{"a":[1,2]}`, `{"a":{"k":[{},{}]},"b":2}`, `{"a"}`,
	} {
		key, val, ok := oneMember([]byte(src))
		ms, err := splitObject([]byte(src))
		want := err == nil && len(ms) == 1 && !strings.Contains(src, `\u`)
		if ok != want {
			t.Errorf("%s: shortcut %v, want %v (split: %d members, %v)", src, ok, want, len(ms), err)
			continue
		}
		if ok && (key != ms[0].key || string(val) != string(ms[0].val.raw)) {
			t.Errorf("%s: shortcut %q %s, split %q %s", src, key, val, ms[0].key, ms[0].val.raw)
		}
	}
}
