package remediate

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestPolicySize(t *testing.T) {
	tests := []struct {
		doc  string
		want int
	}{
		{"", 0},
		{"{}", 2},
		{"{ }", 2},
		{"{\n\t\"a\" : \"b c\"\r\n}", 10},     // whitespace inside strings is not counted either
		{`{"Sid":"é"}`, 11},                   // characters, not bytes
		{"\u00a0{}\u2003", 2},                 // Unicode spaces
		{strings.Repeat("x", 10240), 10240},   // role quota, exactly
		{strings.Repeat("x ", 2049), 2049},    // user quota + 1
		{strings.Repeat(" ", 6144) + "{}", 2}, // whitespace is free
	}
	for _, tt := range tests {
		if got := PolicySize(tt.doc); got != tt.want {
			t.Errorf("PolicySize(%.30q) = %d, want %d", tt.doc, got, tt.want)
		}
	}
}

func TestDenyDocument(t *testing.T) {
	got := DenyDocument([]string{"ec2", "s3"})
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"IamprunesDenyUnusedServices","Effect":"Deny","Action":["ec2:*","s3:*"],"Resource":"*"}]}`
	if got != want {
		t.Errorf("DenyDocument =\n%s\nwant\n%s", got, want)
	}
	svcs, all := deniedServices(got)
	if all || !reflect.DeepEqual(svcs, []string{"ec2", "s3"}) {
		t.Errorf("deniedServices(DenyDocument) = %v, %v", svcs, all)
	}
}

// denySize must agree with rendering, or the packing would overflow.
func TestDenySizeMatchesDocument(t *testing.T) {
	lists := [][]string{{}, {"s3"}, {"s3", "ec2"}, services(300)}
	for _, l := range lists {
		if got, want := denySize(l), PolicySize(DenyDocument(l)); got != want {
			t.Errorf("denySize(%d services) = %d, rendered %d", len(l), got, want)
		}
	}
}

// services returns n distinct, sorted service-like names of varied length.
func services(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc%03d%s", i, strings.Repeat("x", i%11))
	}
	slices.Sort(out)
	return out
}

func TestPackBoundaries(t *testing.T) {
	three := []string{"aaa", "bbbb", "ccccc"}
	full := denySize(three)
	two := denySize(three[:2])
	one := denySize(three[:1])
	tests := []struct {
		name       string
		inline     int
		managed    int
		wantInline []string
		wantMgd    [][]string
	}{
		{"all fit exactly", full, 6144, three, nil},
		{"one character short", full - 1, 6144, three[:2], [][]string{three[2:]}},
		{"two fit exactly", two, 6144, three[:2], [][]string{three[2:]}},
		{"only one fits", one, 6144, three[:1], [][]string{three[1:]}},
		{"nothing fits inline", one - 1, 6144, nil, [][]string{three}},
		{"inline full (negative room)", -5, 6144, nil, [][]string{three}},
		{"managed split exactly", 0, two, nil, [][]string{three[:2], three[2:]}},
		{"managed one each", 0, one + 2, nil, [][]string{{"aaa"}, {"bbbb"}, {"ccccc"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := pack(three, tt.inline, tt.managed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Inline, tt.wantInline) || !reflect.DeepEqual(l.Managed, tt.wantMgd) {
				t.Errorf("pack = %v %v, want %v %v", l.Inline, l.Managed, tt.wantInline, tt.wantMgd)
			}
		})
	}
}

func TestPackTooSmall(t *testing.T) {
	if _, err := pack([]string{"ec2"}, 0, denySize([]string{"ec2"})-1); err == nil {
		t.Error("pack into policies too small for one service: no error")
	}
}

// Every service is placed exactly once, in order, and every policy stays
// within its quota: the reference Lambda dropped lists that never filled a
// batch.
func TestPackCoversEveryService(t *testing.T) {
	for _, n := range []int{1, 2, 50, 300, 1000} {
		for _, room := range []int{0, 10, UserInlineQuota, RoleInlineQuota} {
			svcs := services(n)
			l, err := pack(svcs, room, ManagedPolicySize)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if l.Inline != nil {
				if s := PolicySize(DenyDocument(l.Inline)); s > room {
					t.Errorf("n=%d room=%d: inline policy is %d characters", n, room, s)
				}
				got = append(got, l.Inline...)
			}
			for _, m := range l.Managed {
				if s := PolicySize(DenyDocument(m)); s > ManagedPolicySize {
					t.Errorf("n=%d room=%d: managed policy is %d characters", n, room, s)
				}
				got = append(got, m...)
			}
			if !reflect.DeepEqual(got, svcs) {
				t.Errorf("n=%d room=%d: packed %d services, want all %d in order", n, room, len(got), n)
			}
		}
	}
}

func TestNormServices(t *testing.T) {
	got, bad := normServices([]string{"s3", "EC2", " iam ", "s3", "execute-api"})
	if bad != -1 || !reflect.DeepEqual(got, []string{"ec2", "execute-api", "iam", "s3"}) {
		t.Errorf("normServices = %v, %d", got, bad)
	}
	for _, in := range [][]string{{"s3", "s3:GetObject"}, {"s3", ""}, {"s3", "*"}, {"s3", "-x"}} {
		if _, bad := normServices(in); bad != 1 {
			t.Errorf("normServices(%q) bad index = %d, want 1", in, bad)
		}
	}
}

func TestDeniedServices(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
		all  bool
	}{
		{"list", `{"Statement":[{"Effect":"Deny","Action":["s3:*","EC2:*"],"Resource":"*"}]}`, []string{"s3", "ec2"}, false},
		{"single statement object", `{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":["*"]}}`, []string{"s3"}, false},
		{"deny all", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, nil, true},
		{"allow ignored", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, nil, false},
		{"conditional ignored", `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, nil, false},
		{"one resource ignored", `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`, nil, false},
		{"single action ignored", `{"Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`, nil, false},
		{"not json", `nope`, nil, false},
	}
	for _, tt := range tests {
		got, all := deniedServices(tt.doc)
		if !reflect.DeepEqual(got, tt.want) || all != tt.all {
			t.Errorf("%s: deniedServices = %v, %v; want %v, %v", tt.name, got, all, tt.want, tt.all)
		}
	}
}
