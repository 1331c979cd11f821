package remediate

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iamprune/iamprune"
)

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("register with two executors of one kind did not panic")
		}
	}()
	register(&deactivateAccessKey{}, &deleteAccessKey{}, &deactivateAccessKey{})
}

func TestExecutorsCoverEveryRemediation(t *testing.T) {
	m := Executors(nil, Options{})
	for _, k := range []iamprune.ActionKind{
		iamprune.KindDeactivateAccessKey, iamprune.KindDeleteAccessKey, iamprune.KindDeleteLoginProfile,
		iamprune.KindQuarantineRole, iamprune.KindDenyUnusedServices, iamprune.KindRewritePolicy,
	} {
		if e := m[k]; e == nil || e.Kind() != k {
			t.Errorf("no executor for %s", k)
		}
	}
	if len(m) != 6 {
		t.Errorf("%d executors, want 6", len(m))
	}
}

func TestTagValue(t *testing.T) {
	long := strings.Repeat("ab ", 200)
	tests := []struct{ in, want string }{
		{"role unused for 272 days (limit 120)", "role unused for 272 days limit 120"},
		{"a,b;c", "a b c"},
		{"ok_.:/=+-@ é", "ok_.:/=+-@ é"},
		{"  (x)  ", "x"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := tagValue(tt.in); got != tt.want {
			t.Errorf("tagValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := tagValue(long)
	if n := utf8.RuneCountInString(got); n > maxTagValue || n < maxTagValue-1 {
		t.Errorf("tagValue(600 chars) has %d characters, want %d (or one less at a word break)", n, maxTagValue)
	}
	if strings.HasSuffix(got, " ") {
		t.Errorf("tagValue ends with a space: %q", got)
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		for _, n := range []int{passwordLength, maxPasswordLength} {
			pw, err := newPassword(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(pw) != n {
				t.Fatalf("password length %d, want %d", len(pw), n)
			}
			for _, class := range passwordClasses {
				if !strings.ContainsAny(pw, class) {
					t.Fatalf("password %q lacks a character of %q", pw, class)
				}
			}
			for _, r := range pw {
				if !strings.ContainsRune(strings.Join(passwordClasses, ""), r) {
					t.Fatalf("password %q has %q, outside the IAM classes", pw, r)
				}
			}
			if seen[pw] {
				t.Fatalf("password %q repeated", pw)
			}
			seen[pw] = true
		}
	}
}

func TestUsedSince(t *testing.T) {
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	tests := []struct {
		name        string
		live, known *time.Time
		want        bool
	}{
		{"never used", nil, nil, false},
		{"used, plan said never", at("2026-01-01T00:00:00Z"), nil, true},
		{"same use", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), false},
		{"fraction the analyzer kept", at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00.900Z"), false},
		{"one second later", at("2026-01-01T00:00:01Z"), at("2026-01-01T00:00:00.900Z"), true},
		{"earlier", at("2025-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"), false},
	}
	for _, tt := range tests {
		if got := usedSince(tt.live, tt.known); got != tt.want {
			t.Errorf("%s: usedSince = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The plan's basis may know a later use than the finding.
	a := iamprune.Action{LastAccessed: at("2025-01-01T00:00:00Z"), Basis: &iamprune.Basis{LastUsed: at("2026-01-01T00:00:00Z")}}
	if got := knownLastUse(a); !got.Equal(*at("2026-01-01T00:00:00Z")) {
		t.Errorf("knownLastUse = %v, want the basis's later use", got)
	}
}

func TestIsDenyManaged(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:iam::111122223333:policy/iamprune/iamprune-deny-unused-app-1": true,
		"arn:aws:iam::111122223333:policy/iamprune-deny-unused-app-1":          false,
		"arn:aws:iam::111122223333:policy/iamprune/other":                      false,
		"arn:aws:iam::aws:policy/AWSDenyAll":                                   false,
		"arn:aws:iam::111122223333:policy/iamprune/x/iamprune-deny-unused-a-1": false,
	} {
		if got := isDenyManaged(arn); got != want {
			t.Errorf("isDenyManaged(%s) = %v, want %v", arn, got, want)
		}
	}
}
