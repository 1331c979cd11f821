package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/iamprune/iamprune"
)

// JSON writes the plan in the plan format of docs/plan-format.md: indented by two spaces,
// with a trailing newline, and with actions and services always arrays.
type JSON struct{}

var _ Renderer = JSON{}

// Render implements Renderer. The plan is written one action at a time,
// so that a plan of a hundred thousand actions is never held twice.
func (JSON) Render(w io.Writer, p *iamprune.Plan) error {
	head := *p
	head.FormatVersion = FormatVersion
	head.GeneratedAt = p.GeneratedAt.UTC()
	head.Actions = []iamprune.Action{}
	// Reasons and patterns are read by people; keep < > & legible.
	if err := writePlan(w, &head, p.Actions, false, normalizeAction); err != nil {
		return errWrap("JSON", err)
	}
	return nil
}

// WritePlan writes p, stamped with FormatVersion, exactly as
// json.MarshalIndent(p, "", "  ") and a newline would (the saved-plan
// format), one action at a time.
func WritePlan(w io.Writer, p *iamprune.Plan) error {
	head := *p
	head.FormatVersion = FormatVersion
	return writePlan(w, &head, p.Actions, true, nil)
}

// actionsMarker is how an empty actions list encodes at the top level.
var actionsMarker = []byte(`"actions": []`)

// writePlan encodes head without its actions, then splices actions into
// it one by one, each through fix when set, with the indentation encoding
// the whole plan would give them.
func writePlan(w io.Writer, head *iamprune.Plan, actions []iamprune.Action, escapeHTML bool, fix func(iamprune.Action) iamprune.Action) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(escapeHTML)
	shell := *head
	if len(actions) > 0 {
		shell.Actions = []iamprune.Action{}
	}
	if err := enc.Encode(&shell); err != nil {
		return err
	}
	text := bytes.Clone(buf.Bytes())
	i := bytes.Index(text, actionsMarker)
	if i < 0 || len(actions) == 0 {
		_, err := w.Write(text)
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	split := i + len(actionsMarker) - 1 // just before the ]
	bw.Write(text[:split])
	enc.SetIndent("    ", "  ")
	var a iamprune.Action // one copy for all, not one allocation per action
	for j := range actions {
		ap := &actions[j]
		if fix != nil {
			a = fix(actions[j])
			ap = &a
		}
		buf.Reset()
		if err := enc.Encode(ap); err != nil {
			return err
		}
		if j > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n  ")
	bw.Write(text[split:])
	return bw.Flush()
}

// normalizeAction gives a its never-null services and UTC times.
func normalizeAction(a iamprune.Action) iamprune.Action {
	if a.Services == nil {
		a.Services = []string{}
	}
	if a.LastAccessed != nil {
		t := a.LastAccessed.UTC()
		a.LastAccessed = &t
	}
	return a
}

// normalize returns a copy of p whose slices are never nil, so that they
// encode as [] rather than null, and whose times are UTC: what Render
// writes.
func normalize(p *iamprune.Plan) *iamprune.Plan {
	out := *p
	out.FormatVersion = FormatVersion
	out.GeneratedAt = p.GeneratedAt.UTC()
	out.Actions = make([]iamprune.Action, len(p.Actions))
	for i, a := range p.Actions {
		out.Actions[i] = normalizeAction(a)
	}
	return &out
}
