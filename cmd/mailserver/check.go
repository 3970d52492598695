package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailserver/internal/ctl"
)

func newCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the store's integrity",
		Long: `Verify the store's integrity: every mailbox's counters and UIDNEXT agree with its messages, every
account's usage with its mailboxes, every stored body's reference count with the messages that point at it, and no
body or chunk is orphaned. Works on a running server (a consistent snapshot) and on a stopped one. Prints each
problem found and exits non-zero if there is any.`,
		Example: `  mailserver check`,
		Args:    args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				report, err := ctl.Call(api, ctl.Check, ctl.None{})
				if err != nil {
					return err
				}
				for _, p := range report.Problems {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				if len(report.Problems) > 0 {
					return fmt.Errorf("the store has %d integrity problems (listed above)", len(report.Problems))
				}
				fmt.Fprintln(cmd.OutOrStdout(), "store is consistent")
				return nil
			})
		}),
	}
}
