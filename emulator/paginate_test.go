package emulator

import (
	"errors"
	"testing"
)

func TestPaginate(t *testing.T) {
	tests := []struct {
		name         string
		total, limit int
		token        string
		start, end   int
		next         bool
		err          error
	}{
		{name: "empty", total: 0, limit: 2, start: 0, end: 0},
		{name: "first of many", total: 5, limit: 2, start: 0, end: 2, next: true},
		{name: "middle", total: 5, limit: 2, token: encodeToken("op", 2), start: 2, end: 4, next: true},
		{name: "last", total: 5, limit: 2, token: encodeToken("op", 4), start: 4, end: 5},
		{name: "exact fit", total: 4, limit: 2, token: encodeToken("op", 2), start: 2, end: 4},
		{name: "other scope", total: 5, limit: 2, token: encodeToken("other", 2), err: errBadToken},
		{name: "past the end", total: 5, limit: 2, token: encodeToken("op", 9), err: errBadToken},
		{name: "not base64", total: 5, limit: 2, token: "!!", err: errBadToken},
		{name: "no offset", total: 5, limit: 2, token: "b3A", err: errBadToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := paginate(tt.total, tt.token, tt.limit, "op")
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if p.Start != tt.start || p.End != tt.end || (p.Next != "") != tt.next {
				t.Errorf("page = %+v, want [%d,%d) next=%v", p, tt.start, tt.end, tt.next)
			}
			if p.Next != "" {
				if off, err := decodeToken(p.Next, "op"); err != nil || off != p.End {
					t.Errorf("next token decodes to %d, %v; want %d", off, err, p.End)
				}
			}
		})
	}
}
