package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/ctl"
)

func newAliasCmd(a *app) *cobra.Command {
	cmd := group("alias", "Add, list and remove aliases (other addresses of a user, group or shared mailbox)",
		`An alias is another address of a user, group, shared mailbox or alias of this server: mail to the alias
reaches the target, and the target may send as the alias. The alias must be a free address in a local domain.`)
	cmd.AddCommand(
		&cobra.Command{
			Use:   "add ALIAS TARGET",
			Short: "Make ALIAS another address of TARGET",
			Long: `Make ALIAS another address of TARGET, a user, group, shared mailbox or alias of this server. Mail to
ALIAS reaches TARGET, and TARGET may send as ALIAS.`,
			Example: `  mailserver alias add nguyen.van.an@vinhyen.gov.vn an.nv@vinhyen.gov.vn
  mailserver alias add vanthu.ubnd@vinhyen.gov.vn vanthu@vinhyen.gov.vn`,
			Args: args("ALIAS", "TARGET"),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(func(api ctl.Backend) error {
					al, err := ctl.Call(api, ctl.AliasAdd, ctl.AliasArgs{Alias: args[0], Target: args[1]})
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "added alias %s for %s\n", al.Address, al.Target)
					return nil
				})
			}),
		},
		&cobra.Command{
			Use:     "list",
			Short:   "List the aliases and their targets",
			Example: `  mailserver alias list`,
			Args:    args(),
			RunE: runE(func(cmd *cobra.Command, _ []string) error {
				return a.withAdmin(func(api ctl.Backend) error {
					aliases, err := ctl.Call(api, ctl.AliasList, ctl.None{})
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "ALIAS\tTARGET")
					for _, al := range aliases {
						fmt.Fprintf(tw, "%s\t%s\n", al.Address, al.Target)
					}
					return tw.Flush()
				})
			}),
		},
		&cobra.Command{
			Use:   "remove ALIAS",
			Short: "Remove an alias",
			Long: `Remove an alias; its target is not touched. It is refused while another alias points at it or a group
has it as a member.`,
			Example: `  mailserver alias remove nguyen.van.an@vinhyen.gov.vn`,
			Args:    args("ALIAS"),
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(func(api ctl.Backend) error {
					if err := ctl.Do(api, ctl.AliasRemove, ctl.AliasArgs{Alias: args[0]}); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "removed alias %s\n", display(args[0]))
					return nil
				})
			}),
		},
	)
	return cmd
}
