package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iamprune/iamprune/config"
)

func (m *Main) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the configuration reference, or check a config file",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "reference",
		Short: "Print every config key with its default and meaning",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(m.Stdout, config.Reference)
			return err
		},
	}, &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a config file (exit 2 with file:line on error)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := config.Load(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "%s: ok\n", args[0])
			return nil
		},
	})
	return cmd
}
