package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/iamprune/iamprune"
)

// FuzzParse: Parse never panics, fails only with EINVALID, and whatever it
// accepts survives Marshal and Parse again unchanged, byte for byte.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "policy.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"Statement":{"Effect":"Deny","NotAction":"*","NotResource":[],"NotPrincipal":{"AWS":[]}}}`,
		`{"Statement":[{"Effect":"Allow","Action":"\u00e9\ufffd<>&","Condition":{"N":{"k":[1e3,-0.5,true,"\u2028"]}}}]}`,
		`{"Id":"","Version":"2012-10-17","Statement":[]}`,
		`{"Statement":[{"Sid":"a.b[c]","Effect":"Allow","Action":[],"Principal":{"":"*"}}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"a","Action":"b"}]}`,
		`{"Statement":[`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			if iamprune.ErrorCode(err) != iamprune.EINVALID {
				t.Fatalf("Parse error with code %q: %v", iamprune.ErrorCode(err), err)
			}
			return
		}
		out, err := Marshal(d)
		if err != nil {
			t.Fatalf("Marshal of a parsed document: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(d)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, d) {
			t.Fatalf("round trip changed the document:\n%#v\n%#v", d, back)
		}
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable (%v):\n%s", err, UnifiedDiff("first", "second", out, again))
		}
		if Size(d) > len(out) {
			t.Fatalf("Size %d larger than the text, %d bytes", Size(d), len(out))
		}
	})
}
