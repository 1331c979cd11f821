// Package manpage writes iamprune's man pages with cobra's generator
// (`make man`, through the hidden `iamprune man-pages DIR`).
package manpage

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/iamprune/iamprune/internal/version"
)

// Write writes iamprune.1 for root and a page per command into dir. The
// pages are dated with the build's date when it has one (so one build
// always gives the same pages), else with now.
func Write(root *cobra.Command, dir string, v version.Info, now time.Time) error {
	date := now
	if t, err := time.Parse(time.RFC3339, v.Date); err == nil {
		date = t
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true
	return doc.GenManTree(root, &doc.GenManHeader{Title: "IAMPRUNE", Section: "1", Date: &date, Source: "iamprune " + v.Version, Manual: "iamprune manual"}, dir)
}
