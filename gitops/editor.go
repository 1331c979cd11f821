package gitops

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"go.yaml.in/yaml/v3"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/policy"
)

// collision: the document is one the branch already proposes for another
// principal (an earlier run); it is reported, not edited.
type collision struct{ why string }

func (c *collision) Error() string { return c.why }

// editor applies policy changes to the files of tree (the branch's tip or
// base), keeping the working copies.
type editor struct {
	tree, base  *object.Tree
	files, orig map[string][]byte
	earlier     []entry
	branch      string
}

// edit applies one policy change to the working copy of its file.
func (e *editor) edit(t target) (FileChange, error) {
	fc := FileChange{Principal: t.principal, Policy: t.change.Policy, Name: t.change.Name, Path: t.path, Pointer: t.pointer, MappedBy: t.by, change: t.change}
	src, ok := e.files[t.path]
	if !ok {
		b, err := readFile(e.tree, t.path)
		if err != nil {
			if errors.Is(err, object.ErrFileNotFound) {
				return fc, fmt.Errorf("no such file on the base branch")
			}
			return fc, err
		}
		src, e.orig[t.path] = b, b
	}
	out, err := editContent(&fc, src, t.pointer)
	var d *driftError
	if errors.As(err, &d) && e.tree.Hash != e.base.Hash {
		// The branch may hold an earlier run's refinement of this policy:
		// then the document is put back as base has it and refined anew.
		// Another principal's refinement of the same document is left alone.
		where := loc(t.path, t.pointer)
		own := slices.ContainsFunc(e.earlier, func(x entry) bool {
			return x.Principal == t.principal && x.Name == t.change.Name && x.Loc == where
		})
		if !own {
			for _, x := range e.earlier {
				if x.Loc == where && x.Name == t.change.Name {
					return fc, &collision{fmt.Sprintf("same file and pointer as %s of %s, which branch %s already proposes (an earlier run) with a different refinement: the code defines one policy for both, so refining it for one may remove access the other uses; give each its own policy", x.Name, x.Principal, e.branch)}
				}
			}
			return fc, err
		}
		if spliced, ok := e.fromBase(src, t); ok {
			fc = FileChange{Principal: fc.Principal, Policy: fc.Policy, Name: fc.Name, Path: fc.Path, Pointer: fc.Pointer, MappedBy: fc.MappedBy, change: fc.change}
			out, err = editContent(&fc, spliced, t.pointer)
		}
	}
	if err != nil {
		return fc, err
	}
	e.files[t.path] = out
	return fc, nil
}

// fromBase returns src with t's document replaced by its text on base.
func (e *editor) fromBase(src []byte, t target) ([]byte, bool) {
	bsrc, err := readFile(e.base, t.path)
	if err != nil {
		return nil, false
	}
	_, bs, err1 := openSite(t.path, bsrc, t.pointer, t.change)
	_, ts, err2 := openSite(t.path, src, t.pointer, t.change)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	b0, b1, err1 := bs.span()
	s0, s1, err2 := ts.span()
	if err1 != nil || err2 != nil {
		return nil, false
	}
	out := append(append(append([]byte{}, src[:s0]...), bsrc[b0:b1]...), src[s1:]...)
	return out, true
}

// openSite locates chg's policy document in src, the content of file.
func openSite(file string, src []byte, pointer string, chg iamprune.PolicyChange) (string, site, error) {
	form, err := fileForm(file, src)
	if err != nil {
		return "", nil, err
	}
	if form == FormJSON && pointer != "" && !strings.HasPrefix(pointer, "/") {
		return form, nil, fmt.Errorf("pointer must be a JSON pointer (/a/b) in a JSON policy file")
	}
	var s site
	switch form {
	case FormJSON, FormCFNJSON:
		s, err = cfnJSONSite(src, form, pointer, chg)
	case FormCFNYAML:
		s, err = newYAMLSite(src, pointer, chg)
	case FormTerraform:
		s, err = newTFSite(src, pointer, chg)
	}
	return form, s, err
}

// editContent applies fc's change to src, the content of fc.Path, setting
// fc's Form, Status and ExtraParts.
func editContent(fc *FileChange, src []byte, pointer string) ([]byte, error) {
	chg := fc.change
	before, err := policy.Parse(chg.Before)
	if err != nil {
		return nil, fmt.Errorf("plan: Before: %v", err)
	}
	form, err := fileForm(fc.Path, src)
	if err != nil {
		return nil, err
	}
	fc.Form = form
	if form == FormJSON && pointer != "" && !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("pointer must be a JSON pointer (/a/b) in a JSON policy file")
	}
	if len(chg.After) == 0 {
		// Deleting resources or files is left to people: references to
		// them elsewhere are beyond what iamprune can see.
		fc.Status = StatusRemoveByHand
		return src, nil
	}
	after, err := policy.Parse(chg.After[0])
	if err != nil {
		return nil, fmt.Errorf("plan: After[0]: %v", err)
	}
	fc.ExtraParts = len(chg.After) - 1
	_, s, err := openSite(fc.Path, src, pointer, chg)
	if err != nil {
		return nil, err
	}
	if fc.Status, err = applyChange(s, before, after); err != nil {
		return nil, err
	}
	out, err := s.result()
	if err != nil {
		return nil, err
	}
	if err := verify(form, out); err != nil {
		return nil, fmt.Errorf("the edited file would not parse (%v); nothing written", err)
	}
	return out, nil
}

// verify re-parses an edited file, so that a bug in a text edit can never
// be proposed.
func verify(form string, out []byte) error {
	switch form {
	case FormJSON, FormCFNJSON:
		_, err := parseJSONOffsets(out)
		return err
	case FormCFNYAML:
		var n yaml.Node
		return yaml.Unmarshal(out, &n)
	case FormTerraform:
		_, err := parseTF(out)
		return err
	}
	return nil
}
