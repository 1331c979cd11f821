package notify

import (
	"bytes"
	"embed"
	"errors"
	htmltemplate "html/template"
	"io/fs"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
)

// Template file names, built in and in a templates_dir override.
const (
	SubjectTemplate = "subject.txt.tmpl"
	TextTemplate    = "digest.txt.tmpl"
	HTMLTemplate    = "digest.html.tmpl"
)

//go:embed templates/*.tmpl
var builtin embed.FS

// View is what templates see: the digest (its fields at the top level)
// and values computed from it.
type View struct {
	iamprune.Digest
	// Items is the number of items over all principals; Done of those are
	// changes already made.
	Items, Done int
	// For names who the digest is for: its owner, else its route.
	For string
	// NextAction is the earliest remediate_on of the items not yet done.
	NextAction string
	// Date is the digest's date, YYYY-MM-DD.
	Date string
}

// funcs are the functions templates may call.
var funcs = map[string]any{
	"subject": itemSubject,                                                       // what an item is about
	"happens": whatHappens,                                                       // what iamprune does about it, and when
	"count":   countOf,                                                           // count 3 "item" = "3 items"
	"indent":  indent,                                                            // indent 4 TEXT
	"join":    strings.Join,                                                      // join LIST SEP
	"date":    func(t time.Time) string { return t.UTC().Format(time.DateOnly) }, // YYYY-MM-DD
}

// Render renders a digest with the built-in templates, or with those of
// templatesDir that exist (same file names). A template in templatesDir
// that does not parse or execute is an EINVALID error naming its file.
func Render(d iamprune.Digest, templatesDir string) (iamprune.Message, error) {
	items, done := itemCount(d)
	v := View{Digest: d, Items: items, Done: done, For: audience(d), NextAction: nextAction(d), Date: d.GeneratedAt.UTC().Format(time.DateOnly)}
	subject, err := renderText(SubjectTemplate, templatesDir, v)
	if err != nil {
		return iamprune.Message{}, err
	}
	text, err := renderText(TextTemplate, templatesDir, v)
	if err != nil {
		return iamprune.Message{}, err
	}
	html, err := renderHTML(HTMLTemplate, templatesDir, v)
	if err != nil {
		return iamprune.Message{}, err
	}
	dg := d
	return iamprune.Message{
		Subject: strings.Join(strings.Fields(subject), " "), // one line, whatever the template's layout
		Text:    text,
		HTML:    html,
		Digest:  &dg,
	}, nil
}

// source returns a template's text and the name to report it by: the
// override when templatesDir has it, else the built-in one.
func source(name, templatesDir string) (text, file string, override bool, err error) {
	if templatesDir != "" {
		path := filepath.Join(templatesDir, name)
		b, err := input.ReadFile(path, input.MaxDocument)
		switch {
		case err == nil:
			return string(b), path, true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", path, true, iamprune.Errorf(iamprune.EINVALID, "notify: cannot read template %s: %v", path, unwrapPath(err))
		}
	}
	b, err := builtin.ReadFile("templates/" + name)
	if err != nil {
		return "", name, false, iamprune.Errorf(iamprune.EINTERNAL, "notify: built-in template %s: %v", name, err)
	}
	return string(b), "built-in " + name, false, nil
}

func renderText(name, dir string, v View) (string, error) {
	src, file, override, err := source(name, dir)
	if err != nil {
		return "", err
	}
	t, err := texttemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", templateError(file, override, "does not parse", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", templateError(file, override, "failed", err)
	}
	return b.String(), nil
}

func renderHTML(name, dir string, v View) (string, error) {
	src, file, override, err := source(name, dir)
	if err != nil {
		return "", err
	}
	t, err := htmltemplate.New(name).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return "", templateError(file, override, "does not parse", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", templateError(file, override, "failed", err)
	}
	return b.String(), nil
}

// templateError is EINVALID for an override (the operator's file) and
// EINTERNAL for a built-in template (our bug).
func templateError(file string, override bool, what string, err error) error {
	code := iamprune.EINTERNAL
	if override {
		code = iamprune.EINVALID
	}
	return iamprune.Errorf(code, "notify: template %s %s: %v", file, what, err)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
