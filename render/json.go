package render

import (
	"encoding/json"
	"io"

	"github.com/iamprune/iamprune"
)

// JSON writes the plan in the plan format of docs/plan-format.md: indented by two spaces,
// with a trailing newline, and with actions and services always arrays.
type JSON struct{}

var _ Renderer = JSON{}

// Render implements Renderer.
func (JSON) Render(w io.Writer, p *iamprune.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Reasons and patterns are read by people; keep < > & legible.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalize(p)); err != nil {
		return errWrap("JSON", err)
	}
	return nil
}

// normalize returns a copy of p whose slices are never nil, so that they
// encode as [] rather than null, and whose times are UTC.
func normalize(p *iamprune.Plan) *iamprune.Plan {
	out := *p
	out.FormatVersion = FormatVersion
	out.GeneratedAt = p.GeneratedAt.UTC()
	out.Actions = make([]iamprune.Action, len(p.Actions))
	for i, a := range p.Actions {
		if a.Services == nil {
			a.Services = []string{}
		}
		if a.LastAccessed != nil {
			t := a.LastAccessed.UTC()
			a.LastAccessed = &t
		}
		out.Actions[i] = a
	}
	return &out
}
