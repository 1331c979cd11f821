package main

import (
	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/internal/manpage"
	"github.com/iamprune/iamprune/internal/version"
)

// manCommand writes the man pages (make man).
func (m *Main) manCommand() *cobra.Command {
	return &cobra.Command{Use: "man-pages DIR", Short: "Write the man pages into DIR", Hidden: true, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return manpage.Write(cmd.Root(), args[0], version.Get(), m.Now())
		}}
}
