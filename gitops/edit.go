package gitops

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/iamprune/iamprune/policy"
)

// Edit statuses.
const (
	statusWritten   = "written"
	statusUnchanged = "unchanged"
)

// site is one policy document inside a file, in whatever syntax the file
// uses. Edits are recorded and turned into the new file by result.
type site interface {
	// literal returns the document when the file states it without
	// references (intrinsic functions, interpolation); ok=false otherwise.
	literal() (doc policy.Document, ok bool, err error)
	// statements describes the statements for statement-level editing;
	// ok=false when the syntax does not allow it (flow style, one object).
	statements() (stmts []fileStmt, ok bool)
	replaceWhole(after policy.Document) error
	setActions(i int, oldKey string, v policy.Strings) error
	drop(i int) error
	result() ([]byte, error)
	// span is the byte range of the document in the file.
	span() (start, end int, err error)
}

// driftError: the file holds neither the live document nor the refined one.
type driftError struct{ msg string }

func (e *driftError) Error() string { return e.msg }

// fileStmt is what a file says literally about one statement; the *Known
// flags are false where the file uses references instead.
type fileStmt struct {
	Effect       string
	EffectKnown  bool
	Sid          string
	SidKnown     bool
	Key          string // Action or NotAction
	Actions      []string
	ActionsKnown bool
}

// stmtPlan says what happens to one statement of Before.
type stmtPlan struct {
	drop    bool
	change  bool
	oldKey  string
	actions policy.Strings
}

// applyChange edits s from before to after, preferring statement-level
// edits (which keep everything else in the node: references, comments,
// layout) and falling back to replacing the whole document when the file
// states it literally. It refuses to write over a document that is neither
// before nor after: the file would then not be what is deployed.
func applyChange(s site, before, after policy.Document) (string, error) {
	lit, isLit, err := s.literal()
	if err != nil {
		return "", err
	}
	if isLit {
		switch norm(lit) {
		case norm(after):
			return statusUnchanged, nil
		case norm(before):
		default:
			return "", &driftError{"the policy in the file differs from the live policy (it is neither the live document nor the refined one); refusing to overwrite it"}
		}
	}
	stmts, ok := s.statements()
	if ok {
		if !isLit && matches(stmts, after) && !matches(stmts, before) {
			return statusUnchanged, nil
		}
		if !matches(stmts, before) {
			if !isLit {
				return "", &driftError{fmt.Sprintf("the statements in the file (%d) do not correspond to the live policy's (%d); refusing to edit", len(stmts), len(before.Statement))}
			}
		} else if plan, feasible := planStatements(before, after); feasible {
			for i := len(plan) - 1; i >= 0; i-- {
				switch p := plan[i]; {
				case p.drop:
					err = s.drop(i)
				case p.change:
					err = s.setActions(i, p.oldKey, p.actions)
				}
				if err != nil {
					return "", err
				}
			}
			return statusWritten, nil
		}
	}
	if !isLit {
		return "", fmt.Errorf("the policy uses references (intrinsics, Terraform expressions) or is a Terraform data block, so it can only be edited statement by statement, and this refinement cannot be written that way; edit it by hand")
	}
	return statusWritten, s.replaceWhole(after)
}

// planStatements maps before's statements onto after's, which refinement
// makes by changing Allow statements' Action/NotAction and dropping
// statements, in order. ok=false when after is not of that shape (a split
// reorganised it), and the whole document must be rewritten.
func planStatements(before, after policy.Document) ([]stmtPlan, bool) {
	if before.Version != after.Version || before.ID != after.ID {
		return nil, false
	}
	plan := make([]stmtPlan, len(before.Statement))
	j := 0
	for i, b := range before.Statement {
		if j < len(after.Statement) && sameShape(b, after.Statement[j]) {
			a := after.Statement[j]
			oldKey := "Action"
			if b.NotAction.Set() {
				oldKey = "NotAction"
			}
			plan[i] = stmtPlan{oldKey: oldKey, actions: a.Action}
			plan[i].change = b.NotAction.Set() || !sameSet(b.Action.Values, a.Action.Values)
			if a.NotAction.Set() {
				// Refinement never writes NotAction; unchanged is all we accept.
				if !b.NotAction.Set() || !sameSet(b.NotAction.Values, a.NotAction.Values) {
					return nil, false
				}
				plan[i].change = false
			}
			j++
			continue
		}
		plan[i].drop = true
	}
	return plan, j == len(after.Statement)
}

func sameShape(a, b policy.Statement) bool {
	a.Action, a.NotAction, b.Action, b.NotAction = policy.Strings{}, policy.Strings{}, policy.Strings{}, policy.Strings{}
	x, err1 := policy.MarshalStatement(normStmt(a))
	y, err2 := policy.MarshalStatement(normStmt(b))
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// matches reports whether what the file states literally agrees with d.
func matches(stmts []fileStmt, d policy.Document) bool {
	if len(stmts) != len(d.Statement) {
		return false
	}
	for i, f := range stmts {
		s := d.Statement[i]
		if f.EffectKnown && f.Effect != s.Effect || f.SidKnown && f.Sid != s.Sid {
			return false
		}
		want, key := s.Action.Values, "Action"
		if s.NotAction.Set() {
			want, key = s.NotAction.Values, "NotAction"
		}
		if f.Key != "" && f.Key != key {
			return false
		}
		if f.ActionsKnown && !sameSet(f.Actions, want) {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// norm renders d so that documents IAM treats alike compare equal: value
// lists as sorted sets, string-or-list forms ignored. Terraform and some
// tools rewrite those forms, so byte equality would be too strict.
func norm(d policy.Document) string {
	d = d.Clone()
	d.SingleStatement = false
	for i := range d.Statement {
		d.Statement[i] = normStmt(d.Statement[i])
	}
	b, err := policy.Marshal(d)
	if err != nil {
		return "invalid: " + err.Error()
	}
	return string(b)
}

func normStmt(s policy.Statement) policy.Statement {
	s = s.Clone()
	for _, v := range []*policy.Strings{&s.Action, &s.NotAction, &s.Resource, &s.NotResource} {
		normStrings(v)
	}
	for _, p := range []*policy.Principal{s.Principal, s.NotPrincipal} {
		if p == nil {
			continue
		}
		for i := range p.Entries {
			normStrings(&p.Entries[i].Values)
		}
		sort.Slice(p.Entries, func(i, j int) bool { return p.Entries[i].Type < p.Entries[j].Type })
	}
	return s
}

func normStrings(v *policy.Strings) {
	if v.Values != nil {
		sort.Strings(v.Values)
		v.Values = slices.Compact(v.Values)
		v.Single = false
	}
}

// Forms of file.
const (
	FormJSON      = "json"
	FormCFNJSON   = "cloudformation-json"
	FormCFNYAML   = "cloudformation-yaml"
	FormTerraform = "terraform"
)

// fileForm guesses the form from the name and, for JSON, the content.
func fileForm(name string, content []byte) (string, error) {
	switch strings.ToLower(path.Ext(name)) {
	case ".tf":
		return FormTerraform, nil
	case ".yaml", ".yml":
		return FormCFNYAML, nil
	case ".json", ".template", "":
		t := bytes.TrimSpace(content)
		if len(t) > 0 && t[0] != '{' && t[0] != '[' {
			return FormCFNYAML, nil // .template files are often YAML
		}
		root, err := parseJSONOffsets(content)
		if err != nil {
			return "", err
		}
		if root.get("Resources") != nil && root.get("Resources").kind == '{' && root.get("Statement") == nil {
			return FormCFNJSON, nil
		}
		return FormJSON, nil
	}
	return "", fmt.Errorf("unsupported file type %q (want .json, .yaml, .yml, .template or .tf)", path.Ext(name))
}

// textEdit replaces src[start:end] with text.
type textEdit struct {
	start, end int
	text       string
}

// applyEdits applies non-overlapping edits to src.
func applyEdits(src []byte, edits []textEdit) ([]byte, error) {
	es := slices.Clone(edits)
	sort.Slice(es, func(i, j int) bool { return es[i].start < es[j].start })
	var out bytes.Buffer
	pos := 0
	for _, e := range es {
		if e.start < pos || e.end < e.start || e.end > len(src) {
			return nil, fmt.Errorf("internal error: overlapping edits")
		}
		out.Write(src[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(src[pos:])
	return out.Bytes(), nil
}

// dropRange returns the range to delete to remove elements[k] of a list
// whose elements are separated by commas, given which are dropped: the
// separator before it when an earlier element stays, else the one after.
func dropRange(starts, ends []int, dropped []bool, k int) (int, int) {
	for i := 0; i < k; i++ {
		if !dropped[i] {
			return ends[k-1], ends[k]
		}
	}
	if k+1 < len(starts) {
		return starts[k], starts[k+1]
	}
	return starts[k], ends[k]
}

// prettyJSON renders a document as 2-space indented JSON, keys in IAM's
// order (policy.Marshal).
func prettyJSON(d policy.Document) ([]byte, error) {
	return policy.Marshal(d)
}
