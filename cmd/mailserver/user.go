package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
)

func newUserCmd(a *app) *cobra.Command {
	cmd := group("user", "Add, list and change the users (mail accounts)",
		`Users are the mail accounts of staff: an address in a local domain, a display name, the org unit they
belong to, a quota, and a password.

Passwords are never command-line arguments. In a terminal you are asked for the password twice; otherwise the
first line of standard input is the password, so that scripts can pipe it in.`)
	cmd.AddCommand(newUserAddCmd(a), newUserListCmd(a), newUserPasswdCmd(a), newUserDisableCmd(a), newUserEnableCmd(a),
		newUserMoveCmd(a), newUserHandoverCmd(a), newUserRemoveCmd(a), newUserImportCmd(a))
	return cmd
}

func newUserAddCmd(a *app) *cobra.Command {
	var name, unit, quota string
	cmd := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a user; the password comes from standard input or a prompt",
		Long: `Add a user with the default folders (INBOX, Drafts, Sent, Trash, Junk, Archive). The address's domain
must already exist (see 'mailserver domain add'), and so must the unit given with --unit (see 'mailserver unit
add').

The password must be at least 10 characters and mix at least two kinds of characters. In a terminal it is asked
for twice; otherwise the first line of standard input is the password.

--quota takes a size such as 500MB, 2GB or 1.5GB (units of 1024); 0 or nothing means unlimited.`,
		Example: `  mailserver user add an.nv@vinhyen.gov.vn --name "Nguyễn Văn An" --unit vinhyen/ubnd/phong-noi-vu --quota 2GB
  printf '%s\n' "$MAT_KHAU" | mailserver user add vanthu@phucyen.vinhphuc.gov.vn --name "Văn thư UBND phường Phúc Yên"`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := admin.AddUserRequest{Address: args[0], Name: name, Unit: unit}
			if quota != "" {
				q, err := config.ParseSize(quota)
				if err != nil {
					return fmt.Errorf("--quota: %w", err)
				}
				req.Quota = int64(q)
			}
			pw, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			req.Password = pw
			return a.withAdmin(func(api ctl.Backend) error {
				u, err := ctl.Call(api, ctl.UserAdd, req)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added user %s\n", u.Address)
				return nil
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "display `NAME`, e.g. \"Nguyễn Văn An\"")
	f.StringVar(&unit, "unit", "", "org unit `PATH`, e.g. vinhyen/ubnd/phong-noi-vu")
	f.StringVar(&quota, "quota", "", "mailbox quota `SIZE`, e.g. 2GB (default unlimited)")
	return cmd
}

func newUserListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the users in a table",
		Long: `List every user with display name, unit, quota, space used and status, sorted by address. The status
is active, disabled (no logins; mail keeps arriving), "disabled, rejects mail", or shared for a shared mailbox
(see 'mailserver share').`,
		Example: `  mailserver user list
  mailserver user list | grep phong-noi-vu`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				users, err := ctl.Call(api, ctl.UserList, ctl.None{})
				if err != nil {
					return err
				}
				return writeUserTable(cmd.OutOrStdout(), users)
			})
		}),
	}
}

// writeUserTable prints users as aligned columns under a header line.
func writeUserTable(w io.Writer, users []admin.UserInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tNAME\tUNIT\tQUOTA\tUSED\tSTATUS")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			u.Address, orDash(cleanCell(u.Name)), orDash(u.Unit), quotaText(u.Quota), formatSize(u.Used), userStatus(u))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cleanCell keeps a cell on its line and in its column (names are validated, but a table must not break).
func cleanCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// formatSize writes n bytes for a person: 0B, 512B, 1.5MB, 2GB (units of 1024, as --quota reads them).
func formatSize(n int64) string { return admin.FormatSize(n) }

// quotaText writes a quota: a size, or unlimited for 0.
func quotaText(q int64) string {
	if q == 0 {
		return "unlimited"
	}
	return formatSize(q)
}

func userStatus(u admin.UserInfo) string {
	switch {
	case u.Disabled && u.RejectMail:
		return "disabled, rejects mail"
	case u.Disabled:
		return "disabled"
	case u.Shared:
		return "shared"
	}
	return "active"
}

func newUserPasswdCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd ADDRESS",
		Short: "Set a user's password; it comes from standard input or a prompt",
		Long: `Set a user's password. In a terminal it is asked for twice; otherwise the first line of standard input
is the password. The same strength rules as for 'user add' apply.`,
		Example: `  mailserver user passwd an.nv@vinhyen.gov.vn
  printf '%s\n' "$MAT_KHAU_MOI" | mailserver user passwd an.nv@vinhyen.gov.vn`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.UserPasswd, ctl.PasswordArgs{Address: args[0], Password: pw}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "changed the password of %s\n", display(args[0]))
				return nil
			})
		}),
	}
}

func newUserDisableCmd(a *app) *cobra.Command {
	var rejectMail bool
	cmd := &cobra.Command{
		Use:   "disable ADDRESS",
		Short: "Stop a user from logging in; mail keeps arriving unless --reject-mail",
		Long: `Stop a user from logging in (IMAP and SMTP submission); open IMAP sessions end. The mailbox
is kept, and mail keeps arriving, so that nothing sent to the user is lost. With --reject-mail new mail is refused
as well, as for staff who have left. Disabling again without --reject-mail lets mail arrive again;
'mailserver user enable' undoes both.`,
		Example: `  mailserver user disable an.nv@vinhyen.gov.vn
  mailserver user disable an.nv@vinhyen.gov.vn --reject-mail`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				done := "disabled %s\n"
				if rejectMail {
					done = "disabled %s; new mail to it is rejected\n"
				}
				if err := ctl.Do(api, ctl.UserDisable, ctl.DisableArgs{Address: args[0], RejectMail: rejectMail}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), done, display(args[0]))
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&rejectMail, "reject-mail", false, "refuse new mail to the user as well")
	return cmd
}

func newUserEnableCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "enable ADDRESS",
		Short:   "Let a disabled user log in and receive mail again",
		Example: `  mailserver user enable an.nv@vinhyen.gov.vn`,
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.UserEnable, ctl.AddressArgs{Address: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "enabled %s\n", display(args[0]))
				return nil
			})
		}),
	}
}

func newUserMoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "move ADDRESS PATH",
		Short: "Move a user (or a shared mailbox) to another org unit",
		Long: `Move a user or a shared mailbox to another org unit, which must exist (see 'mailserver unit add').
Groups with the unit as a member (unit:PATH) reach the user at once. An empty PATH ("") takes the user out of any
unit.`,
		Example: `  mailserver user move an.nv@vinhyen.gov.vn vinhyen/ubnd/van-phong
  mailserver user move vanthu@phucyen.vinhphuc.gov.vn vinhyen/phuong-phuc-yen`,
		Args: args("ADDRESS", "PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.UserMove, ctl.MoveArgs{Address: args[0], Unit: args[1]}); err != nil {
					return err
				}
				if unit := display(args[1]); unit != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "moved %s to unit %s\n", display(args[0]), unit)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "moved %s out of its unit\n", display(args[0]))
				}
				return nil
			})
		}),
	}
}

func newUserHandoverCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "handover OLD NEW",
		Short: "Give a successor (NEW) a copy of all the mail of a user who leaves (OLD)",
		Long: `Give a successor a copy of all the mail of a user who leaves or changes post. Every folder of OLD
(INBOX, Sent, Archive, its own folders, …) appears in NEW's mailbox as a folder tree under "Bàn giao/OLD/…", in
one transaction: either everything is copied or nothing. The copied folders are subscribed, so mail clients show
them at once. Messages are stored once and shared, so the copy takes no extra disk space, but it counts in NEW's
usage (see 'mailserver quota report'); the command warns when NEW is then over its quota.

Why a folder tree and not a shared grant: NEW owns the handed-over mail — it can file, answer and delete it like
its own — and the mail survives removing OLD. A grant would leave the mail in OLD's account, which could then
never be removed while anyone still needs it. For a mailbox that several staff keep using, use a shared mailbox
instead (see 'mailserver share').

OLD is left as it is, and mail that reaches it later is not copied: once the handover is done, disable it with
'mailserver user disable OLD --reject-mail', or remove it. Handing OLD over to the same NEW a second time is
refused, so that nothing is copied twice. NEW may also be a shared mailbox, such as a unit's clerk office.`,
		Example: `  mailserver user handover an.nv@vinhyen.gov.vn binh.tt@vinhyen.gov.vn
  mailserver user disable an.nv@vinhyen.gov.vn --reject-mail`,
		Args: args("OLD", "NEW"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				r, err := ctl.Call(api, ctl.UserHandover, ctl.HandoverArgs{From: args[0], To: args[1]})
				if err != nil {
					return err
				}
				writeHandover(cmd.OutOrStdout(), r)
				return nil
			})
		}),
	}
}

// writeHandover reports what a handover copied and what the administrator should do next.
func writeHandover(w io.Writer, r admin.HandoverResult) {
	fmt.Fprintf(w, "handed %s over to %s: %d folder(s), %d message(s), %s copied under %q\n",
		r.From, r.To, r.Folders, r.Messages, formatSize(r.Bytes), r.Folder)
	if r.OverQuota() {
		fmt.Fprintf(w, "warning: %s now uses %s of its %s quota, so new mail to it is refused: raise it with 'mailserver quota set %s SIZE'\n",
			r.To, formatSize(r.Used), formatSize(r.Quota), r.To)
	}
	fmt.Fprintf(w, "%s still exists: disable it with 'mailserver user disable %s --reject-mail' or remove it with 'mailserver user remove %s'\n",
		r.From, r.From, r.From)
}

func newUserRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "Remove a user and all their mail",
		Long: `Remove a user (or a shared mailbox) with all their folders and messages; the space is reclaimed. This
cannot be undone: to keep the mail but stop the account, use 'mailserver user disable' instead. It is refused
while an alias points at the address or a group has it as a member: remove those first.`,
		Example: `  mailserver user remove an.nv@vinhyen.gov.vn`,
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.UserRemove, ctl.AddressArgs{Address: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed user %s\n", display(args[0]))
				return nil
			})
		}),
	}
}
