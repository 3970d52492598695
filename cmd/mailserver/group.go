package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

func newGroupCmd(a *app) *cobra.Command {
	cmd := group("group", "Manage distribution groups: members, authorised senders and posting policy",
		`A group is an address that delivers to each of its members: users, aliases, shared mailboxes, other groups,
and whole units (unit:PATH means every account of that unit and its sub-units when the mail arrives, so new staff
are included at once). Each person gets one copy however many ways the group reaches them.

The posting policy says who may send to the group:
  anyone         anyone, other agencies included
  organisation   staff logged in to this server (the default)
  members        the group's own members
  senders        the listed senders only ('mailserver group sender add')
Listed senders may also send as the group's address.`)
	member := group("member", "Add or remove members of a group",
		`A member is an address of this server (a user, alias, group or shared mailbox) or unit:PATH, every account
of that unit and its sub-units.`)
	member.AddCommand(newGroupChangeCmd(a, groupChange{
		use: "add GROUP MEMBER...", short: "Add members to a group", args: []string{"GROUP", "MEMBER"},
		long: `Add members to a group. Each MEMBER is an address of this server (a user, alias, group or shared
mailbox) or unit:PATH for every account of that unit and its sub-units, resolved when mail arrives. Members that
are already in the group are left as they are; nothing is changed if one MEMBER does not exist.`,
		example: `  mailserver group member add lanhdao@vinhyen.gov.vn an.nv@vinhyen.gov.vn binh.tt@vinhyen.gov.vn
  mailserver group member add toan-the@vinhyen.gov.vn unit:vinhyen/ubnd`,
		what: "member", set: func(u *admin.GroupUpdate, l []string) { u.AddMembers = l },
	}), newGroupChangeCmd(a, groupChange{
		use: "remove GROUP MEMBER...", short: "Remove members from a group", args: []string{"GROUP", "MEMBER"},
		long: `Remove members from a group. Nothing is changed if one MEMBER is not in the group.`,
		example: `  mailserver group member remove lanhdao@vinhyen.gov.vn binh.tt@vinhyen.gov.vn
  mailserver group member remove toan-the@vinhyen.gov.vn unit:vinhyen/ubnd`,
		what: "member", set: func(u *admin.GroupUpdate, l []string) { u.RemoveMembers = l },
	}))
	sender := group("sender", "Add or remove the authorised senders of a group",
		`Authorised senders may send to a group whose policy is senders, and may send as the group's address. A
sender may be any address, other agencies' included.`)
	sender.AddCommand(newGroupChangeCmd(a, groupChange{
		use: "add GROUP ADDRESS...", short: "Authorise senders for a group", args: []string{"GROUP", "ADDRESS"},
		long: `Authorise senders for a group: they may send to it (policy senders) and send as its address.`,
		example: `  mailserver group sender add lanhdao@vinhyen.gov.vn vanthu@vinhyen.gov.vn
  mailserver group sender add toan-the@vinhyen.gov.vn chanh.vp@vinhyen.gov.vn`,
		what: "sender", set: func(u *admin.GroupUpdate, l []string) { u.AddSenders = l },
	}), newGroupChangeCmd(a, groupChange{
		use: "remove GROUP ADDRESS...", short: "Remove authorised senders of a group", args: []string{"GROUP", "ADDRESS"},
		long:    `Remove authorised senders of a group. Nothing is changed if one ADDRESS is not a sender of the group.`,
		example: `  mailserver group sender remove lanhdao@vinhyen.gov.vn vanthu@vinhyen.gov.vn`,
		what:    "sender", set: func(u *admin.GroupUpdate, l []string) { u.RemoveSenders = l },
	}))
	cmd.AddCommand(newGroupAddCmd(a), newGroupListCmd(a), newGroupShowCmd(a), newGroupSetCmd(a), member, sender,
		newGroupRemoveCmd(a))
	return cmd
}

func newGroupAddCmd(a *app) *cobra.Command {
	var name, policy string
	cmd := &cobra.Command{
		Use:   "add ADDRESS",
		Short: "Add a distribution group",
		Long: `Add a distribution group with no members, at a free address in a local domain. --policy says who may
send to it: anyone, organisation (staff of this server; the default), members or senders.`,
		Example: `  mailserver group add lanhdao@vinhyen.gov.vn --name "Lãnh đạo UBND thành phố" --policy members
  mailserver group add toan-the@vinhyen.gov.vn --name "Toàn thể cán bộ" --policy senders`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				g, err := ctl.Call(api, ctl.GroupAdd, admin.AddGroupRequest{Address: args[0], Name: name, Policy: policy})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added group %s (policy %s: %s)\n", g.Address, g.Policy, admin.PolicyText(g.Policy))
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "display `NAME`, e.g. \"Lãnh đạo UBND thành phố\"")
	cmd.Flags().StringVar(&policy, "policy", "organisation", "who may send to it: anyone, organisation, members or senders")
	return cmd
}

func newGroupSetCmd(a *app) *cobra.Command {
	var name, policy string
	cmd := &cobra.Command{
		Use:   "set GROUP [--name NAME] [--policy POLICY]",
		Short: "Change a group's display name or posting policy",
		Long: `Change a group's display name, its posting policy, or both; give at least one of --name and --policy.
Its address, members and senders stay as they are. --policy says who may send to it: anyone, organisation (staff
of this server), members or senders (the listed senders only). --name "" removes the name.`,
		Example: `  mailserver group set lanhdao@vinhyen.gov.vn --name "Lãnh đạo UBND thành phố Vĩnh Yên"
  mailserver group set toan-the@vinhyen.gov.vn --policy senders
  mailserver group set hdnd@vinhyen.gov.vn --name "Thường trực HĐND" --policy members`,
		Args: args("GROUP"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := admin.SetGroupRequest{Group: args[0]}
			if cmd.Flags().Changed("name") {
				req.Name = &name
			}
			if cmd.Flags().Changed("policy") {
				req.Policy = &policy
			}
			return a.withAdmin(func(api ctl.Backend) error {
				g, err := ctl.Call(api, ctl.GroupSet, req)
				if err != nil {
					return err
				}
				named := "no name"
				if g.Name != "" {
					named = fmt.Sprintf("name %q", g.Name)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "group %s: %s, policy %s (%s)\n", g.Address, named, g.Policy,
					admin.PolicyText(g.Policy))
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "new display `NAME`, e.g. \"Lãnh đạo UBND thành phố\"; \"\" removes it")
	cmd.Flags().StringVar(&policy, "policy", "", "new posting `POLICY`: anyone, organisation, members or senders")
	cmd.MarkFlagsOneRequired("name", "policy")
	return cmd
}

// groupChange describes one of the member and sender commands.
type groupChange struct {
	use, short, long, example string
	args                      []string
	what                      string // member or sender
	set                       func(*admin.GroupUpdate, []string)
}

func newGroupChangeCmd(a *app, c groupChange) *cobra.Command {
	return &cobra.Command{
		Use:     c.use,
		Short:   c.short,
		Long:    c.long,
		Example: c.example,
		Args:    argsAtLeast(c.args...),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := admin.GroupUpdate{Group: args[0]}
			c.set(&req, args[1:])
			return a.withAdmin(func(api ctl.Backend) error {
				g, err := ctl.Call(api, ctl.GroupUpdate, req)
				if err != nil {
					return err
				}
				n := len(g.Members)
				if c.what == "sender" {
					n = len(g.Senders)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "group %s now has %d %s(s)\n", g.Address, n, c.what)
				return nil
			})
		}),
	}
}

func newGroupListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the groups with their policy and numbers of members and senders",
		Example: `  mailserver group list
  mailserver group show lanhdao@vinhyen.gov.vn   # one group's members`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				groups, err := ctl.Call(api, ctl.GroupList, ctl.None{})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ADDRESS\tNAME\tPOLICY\tMEMBERS\tSENDERS")
				for _, g := range groups {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", g.Address, orDash(cleanCell(g.Name)), g.Policy,
						len(g.Members), len(g.Senders))
				}
				return tw.Flush()
			})
		}),
	}
}

func newGroupShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show GROUP",
		Short:   "Show a group: name, posting policy, members and senders",
		Example: `  mailserver group show lanhdao@vinhyen.gov.vn`,
		Args:    args("GROUP"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				g, err := ctl.Call(api, ctl.GroupShow, ctl.AddressArgs{Address: args[0]})
				if err != nil {
					return err
				}
				writeGroup(cmd.OutOrStdout(), g)
				return nil
			})
		}),
	}
}

// writeGroup prints a group, its members and senders one per line, indented under their headings.
func writeGroup(w io.Writer, g admin.GroupInfo) {
	fmt.Fprintf(w, "address:  %s\n", g.Address)
	fmt.Fprintf(w, "name:     %s\n", orDash(cleanCell(g.Name)))
	fmt.Fprintf(w, "policy:   %s (%s)\n", g.Policy, admin.PolicyText(g.Policy))
	fmt.Fprintf(w, "members:  %d\n", len(g.Members))
	for _, m := range g.Members {
		fmt.Fprintf(w, "  %s\n", m)
	}
	fmt.Fprintf(w, "senders:  %d\n", len(g.Senders))
	for _, s := range g.Senders {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

func newGroupRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove GROUP",
		Short: "Remove a group",
		Long: `Remove a group; its members are not touched. It is refused while an alias points at the group or
another group has it as a member.`,
		Example: `  mailserver group remove lanhdao@vinhyen.gov.vn`,
		Args:    args("GROUP"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.GroupRemove, ctl.AddressArgs{Address: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed group %s\n", display(args[0]))
				return nil
			})
		}),
	}
}
