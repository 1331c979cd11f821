package exceptions

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/internal/input"
	"github.com/iamprune/iamprune/internal/yamlnode"
)

// ParseTXT reads an allowlist with one principal ARN per line, as the
// reference allowlist.txt: blank lines, "#" comments (whole-line or
// trailing), surrounding spaces and tabs, CRLF line ends and a UTF-8 BOM are
// all accepted. Each entry covers every finding type and never expires.
func ParseTXT(r io.Reader, name string) ([]iamprune.Exception, error) {
	data, err := input.ReadAll(r, name, input.MaxConfig)
	if err != nil {
		return nil, iamprune.Errorf(iamprune.EINVALID, "exceptions: cannot read %s: %v", name, err)
	}
	return parseTXT(data, name)
}

func parseTXT(data []byte, name string) ([]iamprune.Exception, error) {
	out, probs := parseTXTLines(data, name)
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseTXTLines returns the valid lines as exceptions and a problem for each
// other line.
func parseTXTLines(data []byte, name string) ([]iamprune.Exception, *yamlnode.Problems) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	probs := &yamlnode.Problems{Name: name}
	var out []iamprune.Exception
	bad, first, firstLine := 0, 0, ""
	for i, line := range strings.Split(string(data), "\n") {
		// ARNs never contain '#', so everything after one is a comment.
		line, _, _ = strings.Cut(line, "#")
		line = strings.Trim(line, " \t\r")
		if line == "" {
			continue
		}
		if !validPrincipal(line) {
			if bad++; bad == 1 {
				first, firstLine = i+1, line
			}
			probs.Add(i+1, "", "%s", notPrincipal(line))
			continue
		}
		out = append(out, iamprune.Exception{Principal: line, File: name, Line: i + 1})
	}
	if len(out) == 0 && bad > 1 {
		// Not one ARN in several lines: not an exceptions file (/etc/shadow
		// named by mistake), so one problem quotes one line, not every one.
		probs = &yamlnode.Problems{Name: name}
		probs.Add(first, "", "none of its %d lines is a principal ARN, the first is %s: is this the right file?", bad, input.Snippet(firstLine))
	}
	return out, probs
}

// notPrincipal says why s is not a principal pattern, calling a glob that
// would reach past users and roles too broad.
func notPrincipal(s string) string {
	if msg := globShape(s); msg != "" {
		return msg
	}
	return fmt.Sprintf("%s is not an IAM user or role ARN", input.ARN(s))
}
