package emulator

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// defaultPageSize is what IAM (MaxItems) and Access Analyzer (maxResults)
// return per page when the caller does not say.
const defaultPageSize = 100

// maxPageSize is IAM's upper bound for MaxItems.
const maxPageSize = 1000

var errBadToken = errors.New("invalid pagination token")

// page is one window [Start, End) over a list, and the token for the next
// window ("" on the last page).
type page struct {
	Start, End int
	Next       string
}

// paginate cuts a list of total items into pages of limit items. Tokens are
// opaque to clients but stateless here: they carry the offset and a scope
// (the operation and its filters), so a token replayed against another
// operation or other filters is rejected rather than silently misapplied.
func paginate(total int, token string, limit int, scope string) (page, error) {
	start := 0
	if token != "" {
		off, err := decodeToken(token, scope)
		if err != nil {
			return page{}, err
		}
		if off > total {
			return page{}, errBadToken
		}
		start = off
	}
	end := min(start+limit, total)
	p := page{Start: start, End: end}
	if end < total {
		p.Next = encodeToken(scope, end)
	}
	return p, nil
}

func encodeToken(scope string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "\x00" + strconv.Itoa(offset)))
}

func decodeToken(token, scope string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, errBadToken
	}
	sc, off, ok := strings.Cut(string(raw), "\x00")
	if !ok || sc != scope {
		return 0, errBadToken
	}
	n, err := strconv.Atoi(off)
	if err != nil || n < 0 {
		return 0, errBadToken
	}
	return n, nil
}

// pageLimit resolves a requested page size: 0 means the server's default.
// It returns false for a size outside 1..maxPageSize.
func (s *Server) pageLimit(requested int) (int, bool) {
	if requested == 0 {
		return s.pageSize, true
	}
	if requested < 1 || requested > maxPageSize {
		return 0, false
	}
	return requested, true
}
