package exceptions

import (
	"fmt"
	"strings"
)

// String renders the problem as "file:line: field: message", leaving out
// the line and the field when there are none.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// GitHub renders the problem as a GitHub Actions error annotation,
// "::error file=FILE,line=LINE::MESSAGE", which the runner shows on that
// line of the pull request's diff.
func (p Problem) GitHub() string { return p.annotation("error") }

// GitHubWarning renders the problem as a warning annotation.
func (p Problem) GitHubWarning() string { return p.annotation("warning") }

func (p Problem) annotation(level string) string {
	props := "file=" + escapeProperty(p.File)
	if p.Line > 0 {
		props += fmt.Sprintf(",line=%d", p.Line)
	}
	msg := p.Message
	if p.Field != "" {
		msg = p.Field + ": " + msg
	}
	return fmt.Sprintf("::%s %s::%s", level, props, escapeData(msg))
}

// escapeData and escapeProperty follow the runner's workflow-command
// encoding (actions/toolkit, command.ts). A Replacer works in one pass, so
// the % of an escape is never escaped again.
var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string     { return dataEscaper.Replace(s) }
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
