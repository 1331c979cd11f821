package exceptions

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// DefaultMaxDays is how far ahead an exception may expire when
// CheckOptions.MaxDays is 0 (config: exceptions.max_days).
const DefaultMaxDays = 365

// Problem is one reason an exceptions file fails "exceptions check".
type Problem struct {
	// expired marks the problem of an expiry in the past, which Gate leaves
	// to Match: an expired entry simply no longer applies.
	expired bool

	File string `json:"file"`
	Line int    `json:"line,omitempty"` // 0: the file as a whole
	// Field is the key path in a YAML file ("exceptions[2].expires"); empty
	// for a .txt line.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// CheckOptions are the policy Check enforces.
type CheckOptions struct {
	// Now is the day expiry is judged against.
	Now time.Time
	// MaxDays is how many days ahead of Now an expiry may be; 0 means
	// DefaultMaxDays.
	MaxDays int
	// KnownService reports whether a service namespace exists; nil skips
	// the check.
	KnownService func(ns string) bool
}

// Check applies the review policy to exceptions that parsed cleanly and
// returns every problem, in file order (files in order of first appearance,
// then by line). Every entry gets:
//
//   - its principal checked by PrincipalProblem (malformed and over-broad
//     patterns);
//   - its services checked against KnownService;
//   - its overlaps with every other entry, across files (duplicates and
//     patterns that cover one another with shared finding types).
//
// YAML entries must also give reason, owner and expires, with expires no
// earlier than today (an exception applies through its expiry date) and no
// more than MaxDays ahead. A .txt line cannot say any of that, so .txt
// files, such as the reference allowlist.txt, only get the checks above:
// use YAML to record who approved what, why and until when.
func Check(excs []iamprune.Exception, opts CheckOptions) []Problem {
	if opts.MaxDays == 0 {
		opts.MaxDays = DefaultMaxDays
	}
	var ps []Problem
	for _, e := range excs {
		ps = append(ps, entryProblems(e, opts)...)
	}
	ps = append(ps, overlaps(excs)...)
	sortProblems(ps, fileOrder(excs))
	return ps
}

// Gate returns the entries that plan and apply may honour: those that pass
// the checks of "exceptions check" on their own (principal breadth, known
// services and, in YAML, reason, owner and an expiry within MaxDays), so
// that an entry the pull-request gate would refuse never exempts anything,
// however it got into the file. Each refused entry comes with its problems,
// for a warning naming file and line. An expiry in the past is not a
// refusal: an expired entry simply no longer applies (Match). Overlaps
// between entries are not either: each entry stays valid on its own.
func Gate(excs []iamprune.Exception, opts CheckOptions) (kept []iamprune.Exception, refused []Problem) {
	for _, e := range excs {
		var ps []Problem
		for _, p := range entryProblems(e, opts) {
			if !p.expired {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			kept = append(kept, e)
			continue
		}
		refused = append(refused, ps...)
	}
	return kept, refused
}

// entryProblems are the problems of one entry on its own, all of them.
func entryProblems(e iamprune.Exception, opts CheckOptions) []Problem {
	if opts.MaxDays == 0 {
		opts.MaxDays = DefaultMaxDays
	}
	var ps []Problem
	if msg := PrincipalProblem(e.Principal); msg != "" {
		ps = append(ps, problemAt(e, "principal", msg))
	}
	ps = append(ps, checkServices(e, opts.KnownService)...)
	if isYAML(e) {
		ps = append(ps, checkPolicy(e, opts)...)
	}
	return ps
}

// isYAML tells entries that could carry reason, owner and expiry apart from
// .txt lines, by the same rule as Load.
func isYAML(e iamprune.Exception) bool {
	return !strings.EqualFold(filepath.Ext(e.File), ".txt")
}

func checkServices(e iamprune.Exception, known func(string) bool) []Problem {
	if known == nil {
		return nil
	}
	var ps []Problem
	for i, s := range e.Services {
		if s != "*" && !known(s) {
			ps = append(ps, problemAt(e, fmt.Sprintf("services[%d]", i), fmt.Sprintf("%s is not a known IAM service namespace", input.Snippet(s))))
		}
	}
	return ps
}

func checkPolicy(e iamprune.Exception, opts CheckOptions) []Problem {
	var ps []Problem
	if strings.TrimSpace(e.Reason) == "" {
		ps = append(ps, problemAt(e, "reason", "required: say why the access must stay"))
	}
	if strings.TrimSpace(e.Owner) == "" {
		ps = append(ps, problemAt(e, "owner", "required: the team or person who answers for this exception"))
	}
	if e.Expires.IsZero() {
		ps = append(ps, problemAt(e, "expires", fmt.Sprintf("required: the last day (YYYY-MM-DD) the exception applies, at most %d days ahead", opts.MaxDays)))
		return ps
	}
	last := day(e.Expires)
	switch days := DaysLeft(e, opts.Now); {
	case days < 0:
		p := problemAt(e, "expires", fmt.Sprintf("%s is in the past (today is %s): extend it or remove the entry",
			last.Format(time.DateOnly), day(opts.Now).Format(time.DateOnly)))
		p.expired = true
		ps = append(ps, p)
	case days > opts.MaxDays:
		ps = append(ps, problemAt(e, "expires", fmt.Sprintf("%s is %d days ahead, more than exceptions.max_days (%d)",
			last.Format(time.DateOnly), days, opts.MaxDays)))
	}
	return ps
}

// problemAt places a problem with field key of e: on that field's line when
// the entry gave it, else on the entry's line.
func problemAt(e iamprune.Exception, key, msg string) Problem {
	p := Problem{File: e.File, Line: e.Line, Message: msg}
	if l, ok := e.FieldLines[key]; ok {
		p.Line = l
	}
	if e.Path != "" {
		p.Field = e.Path + "." + key
	}
	return p
}

// day is the UTC calendar day of t, as midnight.
func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func fileOrder(excs []iamprune.Exception) []string {
	var files []string
	for _, e := range excs {
		if !slices.Contains(files, e.File) {
			files = append(files, e.File)
		}
	}
	return files
}

// sortProblems orders problems by the position of their file in files (files
// not listed go last, by name), then by line.
func sortProblems(ps []Problem, files []string) {
	rank := func(f string) int {
		if i := slices.Index(files, f); i >= 0 {
			return i
		}
		return len(files)
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if d := rank(a.File) - rank(b.File); d != 0 {
			return d
		}
		if d := strings.Compare(a.File, b.File); d != 0 {
			return d
		}
		return a.Line - b.Line
	})
}
