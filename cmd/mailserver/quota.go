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
	"mailserver/internal/ctl"
)

func newQuotaCmd(a *app) *cobra.Command {
	cmd := group("quota", "Set mailbox quotas and report storage use",
		`A quota bounds the storage of a user's or shared mailbox's messages, all folders together. Mail that would
go over it is refused for that recipient (others still receive it), and so is saving a message from a mail client.
Sizes are written like 500MB, 2GB or 1.5GB (units of 1024).`)
	cmd.AddCommand(newQuotaSetCmd(a), newQuotaReportCmd(a))
	return cmd
}

func newQuotaSetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "set ADDRESS SIZE",
		Short: "Set the quota of a user or shared mailbox (0 or unlimited for none)",
		Long: `Set the quota of a user or shared mailbox: a size such as 500MB, 2GB or 1.5GB, or 0 or unlimited to
remove it. Mail already stored is kept when it is over the new quota; new mail is refused until enough is deleted.`,
		Example: `  mailserver quota set an.nv@vinhyen.gov.vn 2GB
  mailserver quota set vanthu@vinhyen.gov.vn unlimited`,
		Args: args("ADDRESS", "SIZE"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			q, err := parseQuota(args[1])
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.QuotaSet, ctl.QuotaArgs{Address: args[0], Quota: q}); err != nil {
					return err
				}
				if q == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "removed the quota of %s (unlimited)\n", display(args[0]))
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "set the quota of %s to %s\n", display(args[0]), formatSize(q))
				}
				return nil
			})
		}),
	}
}

// parseQuota reads a quota: a size, or "unlimited" (also 0) for none.
func parseQuota(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "unlimited") {
		return 0, nil
	}
	q, err := config.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("%w, or unlimited", err)
	}
	return int64(q), nil
}

func newQuotaReportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "report",
		Short: "Report storage use per account and per unit, largest first",
		Long: `Report the storage used by every account (users and shared mailboxes) with its quota and the
percentage of it used, then by every org unit, counting the accounts of its sub-units too. A unit's ACCOUNTS are
its staff; its shared mailboxes, which belong to it but are not its members, are counted apart (SHARED), and USED
is the storage of both. Both lists are sorted by use, largest first.`,
		Example: `  mailserver quota report
  mailserver quota report | head -20`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				r, err := ctl.Call(api, ctl.QuotaReport, ctl.None{})
				if err != nil {
					return err
				}
				return writeQuotaReport(cmd.OutOrStdout(), r)
			})
		}),
	}
}

// writeQuotaReport prints the accounts' table, a blank line, and the units' table.
func writeQuotaReport(w io.Writer, r admin.QuotaReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tUNIT\tQUOTA\tUSED\tUSE%")
	for _, u := range r.Accounts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Address, orDash(u.Unit), quotaText(u.Quota), formatSize(u.Used),
			percent(u.Used, u.Quota))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tNAME\tACCOUNTS\tSHARED\tUSED")
	for _, u := range r.Units {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", u.Path, orDash(cleanCell(u.Name)), u.Accounts, u.Shared,
			formatSize(u.Used))
	}
	return tw.Flush()
}

// percent writes used as a percentage of quota, or "-" for no quota.
func percent(used, quota int64) string {
	if quota <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(used)*100/float64(quota), 'f', 1, 64) + "%"
}
