package policy

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	tests := []struct {
		name string
		a, b []byte
		want string
	}{
		{"equal", lines("a", "b"), lines("a", "b"), ""},
		{"change in the middle", lines("1", "2", "3", "4", "5", "6", "7", "8", "9"), lines("1", "2", "3", "4", "x", "6", "7", "8", "9"),
			"--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n"},
		{"two hunks", lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"), lines("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"),
			"--- a\n+++ b\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n@@ -9,4 +10,3 @@\n 9\n 10\n 11\n-12\n"},
		{"from empty", nil, lines("a", "b"), "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to empty", lines("a"), nil, "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n"},
		{"missing final newline is no difference", []byte("a\nb"), lines("a", "b"), ""},
		{"last line changed without final newline", []byte("a\nb"), lines("a", "c"), "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnifiedDiff("a", "b", tt.a, tt.b); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
