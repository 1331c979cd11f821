package snapshot

import (
	"bytes"
	"testing"
)

func TestPosAt(t *testing.T) {
	data := []byte("ab\ncdé\n\nx")
	tests := []struct {
		off  int64
		want Pos
	}{
		{0, Pos{1, 1}},
		{2, Pos{1, 3}},
		{3, Pos{2, 1}},
		{7, Pos{2, 4}}, // after the two-byte é: columns count characters
		{9, Pos{4, 1}},
		{10, Pos{4, 2}},
		{99, Pos{4, 2}},
		{-1, Pos{1, 1}},
	}
	for _, tt := range tests {
		if got := PosAt(data, tt.off); got != tt.want {
			t.Errorf("PosAt(%d) = %v, want %v", tt.off, got, tt.want)
		}
	}
}

func TestSplitOffsets(t *testing.T) {
	data := []byte("[ {\"a\": 1},\n  12 ,\"s\\\"\" , [true], null ]")
	els, err := splitArray(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a": 1}`, `12`, `"s\""`, `[true]`, `null`}
	if len(els) != len(want) {
		t.Fatalf("%d elements, want %d", len(els), len(want))
	}
	for i, e := range els {
		if string(e.raw) != want[i] || !bytes.Equal(data[e.off:e.off+int64(len(e.raw))], e.raw) {
			t.Errorf("element %d = %s at %d", i, e.raw, e.off)
		}
	}
	obj := []byte(`{"k" : {"x":1}, "n":5}`)
	ms, err := splitObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].key != "k" || ms[0].val.off != 7 || ms[1].key != "n" || string(obj[ms[1].val.off:]) != "5}" {
		t.Errorf("members = %+v", ms)
	}
	if _, err := splitObject([]byte(`[1]`)); err == nil {
		t.Error("splitObject accepted an array")
	}
}

func TestValueStartAndKeyBefore(t *testing.T) {
	raw := []byte(`{"a": "x\"y", "b": 12, "c": [1], "d": true}`)
	for _, tt := range []struct {
		end  int64 // offset just past the token
		want string
	}{
		{12, `"x\"y"`},
		{21, `12`},
		{29, `[`},
		{42, `true`},
	} {
		start := valueStart(raw, tt.end)
		if got := string(raw[start:tt.end]); got != tt.want {
			t.Errorf("valueStart(%d) -> %q, want %q", tt.end, got, tt.want)
		}
	}
	if got := keyBefore(raw, 6); got != "a" {
		t.Errorf("keyBefore = %q, want a", got)
	}
	if got := keyBefore(raw, 0); got != "" {
		t.Errorf("keyBefore at start = %q", got)
	}
}

// Values split from the file's parse tree sit where splitting their bytes
// again puts them, leading whitespace and nesting included.
func TestSplitFromTreeMatchesReparse(t *testing.T) {
	f := &file{name: "x.json", data: []byte("\n  [ {\"a\": [1, {\"b\":\"é\"}]},\n {\"c\" : null} ]\n")}
	root, err := f.root()
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v rawAt)
	walk = func(v rawAt) {
		again := rawAt{raw: v.raw, off: v.off} // no tree: parsed from raw
		switch jsonKind(v.raw) {
		case "array":
			a, err1 := f.elements(v, "")
			b, err2 := f.elements(again, "")
			if err1 != nil || err2 != nil || len(a) != len(b) {
				t.Fatalf("elements: %v %v %d %d", err1, err2, len(a), len(b))
			}
			for i := range a {
				if a[i].off != b[i].off || !bytes.Equal(a[i].raw, b[i].raw) || !bytes.Equal(f.data[a[i].off:a[i].off+int64(len(a[i].raw))], a[i].raw) {
					t.Errorf("element at %d %q, reparsed at %d %q", a[i].off, a[i].raw, b[i].off, b[i].raw)
				}
				walk(a[i])
			}
		case "object":
			a, err1 := f.members(v, "")
			b, err2 := f.members(again, "")
			if err1 != nil || err2 != nil || len(a) != len(b) {
				t.Fatalf("members: %v %v %d %d", err1, err2, len(a), len(b))
			}
			for i := range a {
				if a[i].key != b[i].key || a[i].val.off != b[i].val.off || !bytes.Equal(a[i].val.raw, b[i].val.raw) {
					t.Errorf("member %s at %d, reparsed %s at %d", a[i].key, a[i].val.off, b[i].key, b[i].val.off)
				}
				walk(a[i].val)
			}
		}
	}
	walk(root)
	els, _ := f.elements(root, "")
	if p := PosAt(f.data, els[1].off); p != (Pos{3, 2}) {
		t.Errorf("second element at %v, want 3:2", p)
	}
}
