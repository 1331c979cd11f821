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
