package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
)

func newAuditCmd(a *app) *cobra.Command {
	var q admin.AuditQuery
	var since string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail: who changed what, when, from where",
		Long: `Show the audit trail, oldest first: every administration command that changed something (ACTOR is
admin:<the OS user who ran it>, FROM is cli), and every send-as and every move, expunge and delete in a shared
mailbox (ACTOR is the account, FROM its IP address).

--account shows the records by or about an address; --mailbox those whose target contains an address or a folder
name; --since those at or after a time: RFC 3339 (2026-11-26T08:00:00+07:00), a date (2026-11-26, from midnight
local time) or a duration back from now (24h, 7d). Under sudo, the OS user recorded is the one who ran sudo.`,
		Example: `  mailserver audit --since 24h
  mailserver audit --account an.nv@vinhyen.gov.vn --since 2026-11-26
  mailserver audit --mailbox vanthu@vinhyen.gov.vn --limit 50`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				q.Since = t
			}
			return a.withAdmin(func(api ctl.Backend) error {
				records, err := ctl.Call(api, ctl.Audit, q)
				if err != nil {
					return err
				}
				return writeAudit(cmd.OutOrStdout(), records)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&q.Account, "account", "", "records by or about this `ADDRESS`")
	f.StringVar(&q.Mailbox, "mailbox", "", "records whose target contains this `MAILBOX` (an address or folder)")
	f.StringVar(&since, "since", "", "records at or after `TIME`: 2026-11-26T08:00:00+07:00, 2026-11-26 or 24h")
	f.IntVar(&q.Limit, "limit", 0, "only the newest `N` records (default all)")
	return cmd
}

// parseSince reads --since: an RFC 3339 time, a date (local midnight), or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if d, err := config.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since: invalid time %q: use RFC 3339 (2026-11-26T08:00:00+07:00), a date (2026-11-26) or a duration back from now (24h, 7d)", s)
}

// writeAudit prints audit records as aligned columns, times in local time.
func writeAudit(w io.Writer, records []admin.AuditEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tFROM\tACTION\tTARGET\tDETAIL")
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format(time.RFC3339), cleanCell(r.Actor),
			cleanCell(r.From), cleanCell(r.Action), cleanCell(r.Target), orDash(cleanCell(r.Detail)))
	}
	return tw.Flush()
}
