package render

import (
	"fmt"
	"io"
)

// CheckAnnotations writes the problems and warnings of 'exceptions check'
// as GitHub Actions workflow commands, so that they show on a pull
// request's diff.
func CheckAnnotations(w io.Writer, rep CheckReport) {
	for _, p := range rep.Problems {
		fmt.Fprintln(w, p.GitHub())
	}
	for _, p := range rep.Warnings {
		fmt.Fprintln(w, p.GitHubWarning())
	}
}
