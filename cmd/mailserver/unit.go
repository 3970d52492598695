package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

func newUnitCmd(a *app) *cobra.Command {
	cmd := group("unit", "Add, list, rename and remove the org units (the organisation tree)",
		`Org units are the tree of the organisation: the city, its People's Committee and departments, every ward
and commune. A unit is named by its path, levels of letters without diacritics, digits and '-' separated by '/',
such as vinhyen/ubnd/phong-noi-vu, and has a display name such as "Phòng Nội vụ".

Users and shared mailboxes belong to a unit ('mailserver user add --unit', 'mailserver user move'), and a group
member unit:PATH reaches every account of the unit and its sub-units.`)
	cmd.AddCommand(newUnitAddCmd(a), newUnitListCmd(a), newUnitSetCmd(a), newUnitRemoveCmd(a))
	return cmd
}

func newUnitAddCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "add PATH",
		Short: "Add an org unit",
		Long: `Add an org unit. Missing parent units are added too, without a display name: add the units from the
top down to name each of them.`,
		Example: `  mailserver unit add vinhyen --name "Thành phố Vĩnh Yên"
  mailserver unit add vinhyen/ubnd --name "UBND thành phố Vĩnh Yên"
  mailserver unit add vinhyen/ubnd/phong-noi-vu --name "Phòng Nội vụ"   # for users such as an.nv@vinhyen.gov.vn`,
		Args: args("PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				units, err := ctl.Call(api, ctl.UnitAdd, ctl.UnitArgs{Path: args[0], Name: name})
				if err != nil {
					return err
				}
				for i, u := range units {
					if i < len(units)-1 {
						fmt.Fprintf(cmd.OutOrStdout(), "added unit %s (a parent, without a name)\n", u.Path)
					} else {
						fmt.Fprintf(cmd.OutOrStdout(), "added unit %s\n", u.Path)
					}
				}
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "display `NAME`, e.g. \"Phòng Nội vụ\"")
	return cmd
}

func newUnitListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Show the org units as an indented tree with account counts",
		Long: `Show every org unit as a tree, each sub-unit indented by two spaces under its parent, with its display
name, the accounts in it and its sub-units (ACCOUNTS), those directly in it (DIRECT), and the shared mailboxes
in it and its sub-units (SHARED). Shared mailboxes belong to a unit but are not its members (a group member
unit:PATH does not reach them), so they are not counted as accounts; 'mailserver share list' shows the unit of
each.`,
		Example: `  mailserver unit list
  mailserver unit list | grep phuong`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				units, err := ctl.Call(api, ctl.UnitList, ctl.None{})
				if err != nil {
					return err
				}
				return writeUnitTree(cmd.OutOrStdout(), units)
			})
		}),
	}
}

// writeUnitTree prints units, in tree order, as aligned columns with the paths indented by depth.
func writeUnitTree(w io.Writer, units []admin.UnitInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tNAME\tACCOUNTS\tDIRECT\tSHARED")
	for _, u := range units {
		fmt.Fprintf(tw, "%s%s\t%s\t%d\t%d\t%d\n", strings.Repeat("  ", u.Depth()), u.Path, orDash(cleanCell(u.Name)),
			u.Accounts, u.Direct, u.Shared)
	}
	return tw.Flush()
}

func newUnitSetCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "set PATH --name NAME",
		Short: "Set the display name of an org unit",
		Long: `Set the display name of an org unit, for example of a parent unit that 'mailserver unit add' added
without one. The path does not change. --name "" removes the name.`,
		Example: `  mailserver unit set vinhyen/ubnd --name "UBND thành phố Vĩnh Yên"
  mailserver unit set vinhyen --name "Thành phố Vĩnh Yên"`,
		Args: args("PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				u, err := ctl.Call(api, ctl.UnitSet, ctl.UnitArgs{Path: args[0], Name: name})
				if err != nil {
					return err
				}
				if u.Name == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "unit %s now has no name\n", u.Path)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "unit %s is now named %q\n", u.Path, u.Name)
				}
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "display `NAME`, e.g. \"UBND thành phố Vĩnh Yên\"; \"\" removes it")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newUnitRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove PATH",
		Short: "Remove an org unit that has no accounts and no sub-units",
		Long: `Remove an org unit. It is refused while the unit has accounts (move them with 'mailserver user move')
or sub-units (remove them first), or while a group has it as a member (unit:PATH).`,
		Example: `  mailserver unit remove vinhyen/ubnd/phong-noi-vu`,
		Args:    args("PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.UnitRemove, ctl.UnitArgs{Path: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed unit %s\n", display(args[0]))
				return nil
			})
		}),
	}
}
