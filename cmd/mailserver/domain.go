package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
)

func newDomainCmd(a *app) *cobra.Command {
	cmd := group("domain", "Add, list and remove the mail domains served here",
		`The mail domains this server receives mail for, such as vinhyen.gov.vn. A domain must exist before users
can be added in it, and can only be removed once it has no users left.`)
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add DOMAIN",
			Short: "Add a mail domain",
			Long: `Add a mail domain. Write a domain with non-ASCII letters in its ASCII (xn--) form. Remember to
point the domain's MX record at this server.`,
			Example: `  mailserver domain add vinhyen.gov.vn
  mailserver domain add phucyen.vinhphuc.gov.vn`,
			Args: args("DOMAIN"),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(func(api admin.API) error {
					if err := api.AddDomain(args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "added domain %s\n", display(args[0]))
					return nil
				})
			}),
		},
		&cobra.Command{
			Use:     "list",
			Short:   "List the mail domains, one per line",
			Example: `  mailserver domain list`,
			Args:    args(),
			RunE: runE(func(cmd *cobra.Command, _ []string) error {
				return a.withAdmin(func(api admin.API) error {
					ds, err := api.ListDomains()
					if err != nil {
						return err
					}
					for _, d := range ds {
						fmt.Fprintln(cmd.OutOrStdout(), d.Name)
					}
					return nil
				})
			}),
		},
		&cobra.Command{
			Use:   "remove DOMAIN",
			Short: "Remove a mail domain that has no users",
			Long: `Remove a mail domain. The domain must have no users left: remove them first with
'mailserver user remove ADDRESS'.`,
			Example: `  mailserver domain remove phucyen.vinhphuc.gov.vn`,
			Args:    args("DOMAIN"),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(func(api admin.API) error {
					if err := api.RemoveDomain(args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "removed domain %s\n", display(args[0]))
					return nil
				})
			}),
		},
	)
	return cmd
}
