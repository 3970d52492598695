package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
)

func newUserCmd(a *app) *cobra.Command {
	cmd := group("user", "Add, list and change the users (mail accounts)",
		`Users are the mail accounts of staff: an address in a local domain, a display name, the org unit they
belong to, a quota, and a password.

Passwords are never command-line arguments. In a terminal you are asked for the password twice; otherwise the
first line of standard input is the password, so that scripts can pipe it in.`)
	cmd.AddCommand(newUserAddCmd(a), newUserListCmd(a), newUserPasswdCmd(a),
		newUserStateCmd(a, userState{
			use: "disable", short: "Stop a user from logging in; mail keeps arriving and the mailbox is kept",
			done: "disabled", op: admin.API.Disable,
		}),
		newUserStateCmd(a, userState{
			use: "enable", short: "Let a disabled user log in again",
			done: "enabled", op: admin.API.Enable,
		}),
		newUserRemoveCmd(a),
	)
	return cmd
}

func newUserAddCmd(a *app) *cobra.Command {
	var name, unit, quota string
	cmd := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a user; the password comes from standard input or a prompt",
		Long: `Add a user with the default folders (INBOX, Drafts, Sent, Trash, Junk, Archive). The address's domain
must already exist (see 'mailserver domain add').

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
			return a.withAdmin(func(api admin.API) error {
				u, err := api.AddUser(req)
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
		Long: `List every user with display name, unit, quota, space used and status (active or disabled),
sorted by address.`,
		Example: `  mailserver user list
  mailserver user list | grep phong-noi-vu`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api admin.API) error {
				users, err := api.ListUsers()
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
		quota, status := "unlimited", "active"
		if u.Quota > 0 {
			quota = formatSize(u.Quota)
		}
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			u.Address, orDash(cleanCell(u.Name)), orDash(u.Unit), quota, formatSize(u.Used), status)
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

// formatSize writes n bytes for a person: 0, 512B, 1.5MB, 2GB (units of 1024, as --quota reads them).
func formatSize(n int64) string {
	units := []string{"KB", "MB", "GB", "TB"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, unit := float64(n), ""
	for _, u := range units {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + unit
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
			return a.withAdmin(func(api admin.API) error {
				if err := api.SetPassword(args[0], pw); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "changed the password of %s\n", display(args[0]))
				return nil
			})
		}),
	}
}

// userState describes disable or enable.
type userState struct {
	use, short, done string
	op               func(admin.API, string) error
}

func newUserStateCmd(a *app, s userState) *cobra.Command {
	return &cobra.Command{
		Use:     s.use + " ADDRESS",
		Short:   s.short,
		Example: fmt.Sprintf("  mailserver user %s an.nv@vinhyen.gov.vn", s.use),
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api admin.API) error {
				if err := s.op(api, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", s.done, display(args[0]))
				return nil
			})
		}),
	}
}

func newUserRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ADDRESS",
		Short: "Remove a user and all their mail",
		Long: `Remove a user with all their folders and messages. This cannot be undone: to keep the mail but stop
the account, use 'mailserver user disable' instead.`,
		Example: `  mailserver user remove an.nv@vinhyen.gov.vn`,
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api admin.API) error {
				if err := api.RemoveUser(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed user %s\n", display(args[0]))
				return nil
			})
		}),
	}
}
