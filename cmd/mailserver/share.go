package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
)

func newShareCmd(a *app) *cobra.Command {
	cmd := group("share", "Manage shared mailboxes (a unit's clerk office, \"văn thư\") and who may use them",
		`A shared mailbox receives mail like a user, but nobody logs in as it: staff granted rights open its
folders in their own mail client, under the shared namespace. Rights are:
  read    see its folders and messages
  write   also change them: flags, move, delete, add messages (implies read)
  send    send mail as its address
Remove a shared mailbox with 'mailserver user remove ADDRESS'.`)
	cmd.AddCommand(newShareAddCmd(a), newShareGrantCmd(a), newShareRevokeCmd(a), newShareListCmd(a))
	return cmd
}

func newShareAddCmd(a *app) *cobra.Command {
	var name, unit, quota string
	cmd := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a shared mailbox",
		Long: `Add a shared mailbox with the default folders, at a free address in a local domain. It has no
password: give staff access with 'mailserver share grant'.`,
		Example: `  mailserver share add vanthu@vinhyen.gov.vn --name "Văn thư UBND thành phố" --unit vinhyen/ubnd
  mailserver share add vanthu@phucyen.vinhphuc.gov.vn --name "Văn thư UBND phường Phúc Yên" --quota 10GB`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := admin.AddSharedRequest{Address: args[0], Name: name, Unit: unit}
			if quota != "" {
				q, err := config.ParseSize(quota)
				if err != nil {
					return fmt.Errorf("--quota: %w", err)
				}
				req.Quota = int64(q)
			}
			return a.withAdmin(func(api ctl.Backend) error {
				u, err := ctl.Call(api, ctl.ShareAdd, req)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added shared mailbox %s\n", u.Address)
				return nil
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "display `NAME`, e.g. \"Văn thư UBND thành phố\"")
	f.StringVar(&unit, "unit", "", "org unit `PATH`, e.g. vinhyen/ubnd")
	f.StringVar(&quota, "quota", "", "mailbox quota `SIZE`, e.g. 10GB (default unlimited)")
	return cmd
}

func newShareGrantCmd(a *app) *cobra.Command {
	var rights []string
	cmd := &cobra.Command{
		Use:   "grant SHARED ACCOUNT --rights read|write|send",
		Short: "Give a user rights on a shared mailbox",
		Long: `Give a user rights on a shared mailbox: read, write (implies read) or send. Repeat --rights or separate
rights with commas. Rights add to those the user already has; 'mailserver share revoke' takes them all away.`,
		Example: `  mailserver share grant vanthu@vinhyen.gov.vn an.nv@vinhyen.gov.vn --rights read
  mailserver share grant vanthu@vinhyen.gov.vn binh.tt@vinhyen.gov.vn --rights write,send
  mailserver share grant vanthu@vinhyen.gov.vn binh.tt@vinhyen.gov.vn --rights write --rights send`,
		Args: args("SHARED", "ACCOUNT"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				g, err := ctl.Call(api, ctl.ShareGrant, ctl.GrantArgs{Shared: args[0], Account: args[1], Rights: rights})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s now has %s on %s\n", g.Account, g.Rights, g.Shared)
				return nil
			})
		}),
	}
	cmd.Flags().StringSliceVar(&rights, "rights", nil, "`RIGHTS` to give: read, write, send (repeat or separate with commas)")
	cmd.MarkFlagRequired("rights")
	return cmd
}

func newShareRevokeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke SHARED ACCOUNT",
		Short: "Take all of a user's rights on a shared mailbox away",
		Long: `Take all of a user's rights on a shared mailbox away: the user can no longer open it or send as it.
To keep some rights, revoke and grant those again.`,
		Example: `  mailserver share revoke vanthu@vinhyen.gov.vn an.nv@vinhyen.gov.vn`,
		Args:    args("SHARED", "ACCOUNT"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.ShareRevoke, ctl.GrantArgs{Shared: args[0], Account: args[1]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked the rights of %s on %s\n", display(args[1]), display(args[0]))
				return nil
			})
		}),
	}
}

func newShareListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the shared mailboxes and who has which rights on them",
		Long: `List every shared mailbox with its display name and unit, then one line per user granted rights on it
(ACCOUNT, RIGHTS); "-" where nobody has any yet.`,
		Example: `  mailserver share list`,
		Args:    args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				shared, err := ctl.Call(api, ctl.ShareList, ctl.None{})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SHARED\tNAME\tUNIT\tACCOUNT\tRIGHTS")
				for _, s := range shared {
					head := fmt.Sprintf("%s\t%s\t%s", s.Address, orDash(cleanCell(s.Name)), orDash(s.Unit))
					if len(s.Grants) == 0 {
						fmt.Fprintf(tw, "%s\t-\t-\n", head)
					}
					for i, g := range s.Grants {
						if i > 0 {
							head = "\t\t"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\n", head, g.Account, g.Rights)
					}
				}
				return tw.Flush()
			})
		}),
	}
}
