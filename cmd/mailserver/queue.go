package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

// maxReplyRunes bounds a remote server's reply in 'queue list', so that each recipient stays on one line.
const maxReplyRunes = 60

func newQueueCmd(a *app) *cobra.Command {
	cmd := group("queue", "Inspect the outbound queue and retry, remove or bounce its messages",
		`The outbound queue holds mail for other servers until each recipient has been delivered or has failed for
good. A message that cannot be delivered yet (the other server is down, or asks to try later) is tried again
later, at growing intervals; its sender is warned if it is delayed long, and gets a bounce if it fails for good.

Each queued message has an ID, shown by 'mailserver queue list'. On a stopped server, retries and bounces
happen when it starts.`)
	cmd.AddCommand(newQueueListCmd(a), newQueueShowCmd(a), newQueueRetryCmd(a), newQueueRemoveCmd(a),
		newQueueBounceCmd(a))
	return cmd
}

func newQueueListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the queued messages with their recipients still waiting",
		Long: `List the queued messages, oldest first: ID, age, size, sender (<> for a delivery report), attempts so far
and when the next one is due. Under each message are its recipients still waiting, with the last reply of
their server.`,
		Example: `  mailserver queue list
  mailserver queue list | grep -B1 bo-noi-vu.gov.vn   # messages waiting for one agency`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				entries, err := ctl.Call(api, ctl.QueueList, ctl.None{})
				if err != nil {
					return err
				}
				return writeQueue(cmd.OutOrStdout(), entries, time.Now())
			})
		}),
	}
}

// writeQueue prints the queue as a table, each message's row followed by its pending recipients, indented. The
// recipient lines are not part of the table, so that a long reply does not widen its columns.
func writeQueue(w io.Writer, entries []admin.QueueEntry, now time.Time) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "The queue is empty.")
		return err
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tSIZE\tFROM\tATTEMPTS\tNEXT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.ID, shortDuration(now.Sub(e.Created)), formatSize(e.Size),
			sender(e.From), e.Attempts, nextAttempt(e, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rows := strings.SplitAfter(table.String(), "\n")
	var out strings.Builder
	out.WriteString(rows[0])
	for i, e := range entries {
		out.WriteString(rows[i+1])
		for _, r := range e.Pending() {
			fmt.Fprintf(&out, "  to %s: %s\n", oneLineText(r.Address), shorten(lastReply(r), maxReplyRunes))
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// nextAttempt says when the next attempt is due, relative to now.
func nextAttempt(e admin.QueueEntry, now time.Time) string {
	if e.BounceRequested {
		return "bouncing"
	}
	return fromNow(e.NextAttempt, now)
}

// fromNow writes a due time relative to now: "in 4m", or "now" once it has passed.
func fromNow(t, now time.Time) string {
	if d := t.Sub(now); d >= time.Second {
		return "in " + shortDuration(d)
	}
	return "now"
}

// shortDuration writes d to the unit that matters: 45s, 13m, 2h13m, 3d4h.
func shortDuration(d time.Duration) string {
	const day = 24 * time.Hour
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < day:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dd%dh", d/day, d%day/time.Hour)
}

// sender writes an envelope sender, <> for the null sender of a delivery report.
func sender(from string) string {
	if from == "" {
		return "<>"
	}
	return oneLineText(from)
}

// lastReply says what the last attempt for a recipient gave.
func lastReply(r admin.QueueRecipient) string {
	switch {
	case r.Reply != "":
		return oneLineText(r.Reply)
	case r.Code != "":
		return r.Code
	case r.Updated.IsZero():
		return "not tried yet"
	}
	return "no reply recorded"
}

// oneLineText makes text that came from another server safe to print on one line: control characters, escape
// sequences among them, become spaces.
func oneLineText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-3]) + "..."
}

func newQueueShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show everything about one queued message",
		Long: `Show one queued message: sender, the account that sent it, age, size, attempts and the next one, whether
the sender was warned of the delay or a bounce was asked for, and for each recipient its status (pending,
delivered or failed), the last status code and reply, and the server that gave it (e.g. mx.bo-noi-vu.gov.vn).`,
		Example: `  mailserver queue show 3JX7Q2M4KZPA`,
		Args:    args("ID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				e, err := ctl.Call(api, ctl.QueueShow, ctl.QueueArgs{ID: args[0]})
				if err != nil {
					return err
				}
				writeQueueEntry(cmd.OutOrStdout(), e, time.Now())
				return nil
			})
		}),
	}
}

// writeQueueEntry prints a queued message, field by field, then each recipient indented under its address.
func writeQueueEntry(w io.Writer, e admin.QueueEntry, now time.Time) {
	field := func(indent, label, format string, v ...any) {
		fmt.Fprintf(w, "%s%-16s%s\n", indent, label+":", fmt.Sprintf(format, v...))
	}
	field("", "id", "%s", e.ID)
	field("", "from", "%s", sender(e.From))
	field("", "submitter", "%s", orDash(oneLineText(e.Submitter)))
	field("", "created", "%s (%s ago)", showTime(e.Created), shortDuration(now.Sub(e.Created)))
	field("", "size", "%s", formatSize(e.Size))
	field("", "attempts", "%d", e.Attempts)
	field("", "last attempt", "%s", whenTried(e.LastAttempt, now))
	if e.InProgress {
		field("", "next attempt", "in progress now")
	} else {
		field("", "next attempt", "%s (%s)", showTime(e.NextAttempt), fromNow(e.NextAttempt, now))
	}
	field("", "delay warning", "%s", yesNo(e.DelayWarned, "sent to the sender", "not sent"))
	field("", "bounce", "%s", yesNo(e.BounceRequested, "requested: the sender gets a report at the next attempt",
		"not requested"))
	field("", "recipients", "%d (%d pending)", len(e.Recipients), len(e.Pending()))
	for _, r := range e.Recipients {
		fmt.Fprintf(w, "  %s\n", oneLineText(r.Address))
		field("    ", "status", "%s", r.Status)
		field("    ", "code", "%s", orDash(oneLineText(r.Code)))
		field("    ", "reply", "%s", orDash(oneLineText(r.Reply)))
		field("    ", "remote server", "%s", orDash(oneLineText(r.RemoteMTA)))
		field("    ", "last attempt", "%s", whenTried(r.Updated, now))
	}
}

// showTime writes a time as the audit trail does: RFC 3339 in local time.
func showTime(t time.Time) string { return t.Local().Format(time.RFC3339) }

// whenTried writes the time of an attempt and how long ago it was, or never.
func whenTried(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", showTime(t), shortDuration(now.Sub(t)))
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// serverRunning tells whether api reaches a running server: openAdmin returns the control socket's client
// exactly then. Retries and bounces on a stopped server wait for its start.
func serverRunning(api ctl.Backend) bool {
	_, ok := api.(*ctl.Client)
	return ok
}

func newQueueRetryCmd(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry ID | --all",
		Short: "Try queued messages again now instead of at their next scheduled attempt",
		Long: `Try a queued message again now instead of waiting for its next scheduled attempt, for example once the
other agency's server (say mx.bo-noi-vu.gov.vn) is reachable again. --all retries every queued message. Give
either ID or --all.`,
		Example: `  mailserver queue retry 3JX7Q2M4KZPA
  mailserver queue retry --all`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return fmt.Errorf("unexpected argument %q", args[1])
			case len(args) == 1 && all:
				return errors.New("give either ID or --all, not both")
			case len(args) == 0 && !all:
				return errors.New("missing ID (or --all for every queued message)")
			}
			return nil
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			return a.withAdmin(func(api ctl.Backend) error {
				n, err := ctl.Call(api, ctl.QueueRetry, ctl.QueueArgs{ID: id})
				if err != nil {
					return err
				}
				if serverRunning(api) {
					fmt.Fprintf(cmd.OutOrStdout(), "Retrying %d message(s) now.\n", n)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "Retrying %d message(s) when the server starts: it is not running.\n", n)
				}
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every queued message")
	return cmd
}

func newQueueRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Delete a queued message without delivering it or telling its sender",
		Long: `Delete a queued message: its recipients still waiting never get it, and its sender is not told. To give
up on a message and tell the sender, use 'mailserver queue bounce' instead. An attempt already under way
('queue show' says so) cannot be stopped and may still deliver it.`,
		Example: `  mailserver queue show 3JX7Q2M4KZPA     # check first, e.g. a circular sent to a wrong address at bo-noi-vu.gov.vn
  mailserver queue remove 3JX7Q2M4KZPA`,
		Args: args("ID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				// For the confirmation: the message is gone afterwards.
				e, err := ctl.Call(api, ctl.QueueShow, ctl.QueueArgs{ID: args[0]})
				if err != nil {
					return err
				}
				if err := ctl.Do(api, ctl.QueueRemove, ctl.QueueArgs{ID: e.ID}); err != nil {
					return err
				}
				if e.InProgress {
					fmt.Fprintf(cmd.OutOrStdout(), "Removed message %s from %s (%s); the sender was not told. An attempt to deliver it was under way and may still reach some of its %d pending recipient(s): it is not retried.\n",
						e.ID, sender(e.From), formatSize(e.Size), len(e.Pending()))
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed message %s from %s (%s) without delivering it to its %d pending recipient(s); the sender was not told.\n",
					e.ID, sender(e.From), formatSize(e.Size), len(e.Pending()))
				return nil
			})
		}),
	}
}

func newQueueBounceCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "bounce ID",
		Short: "Give up on a queued message and send its sender a bounce",
		Long: `Give up on a queued message: its recipients still waiting fail, and the sender gets a report (a bounce)
saying it was not delivered to them. On a stopped server this happens when it starts. A delivery report itself
(sender <>) cannot be bounced: remove it with 'mailserver queue remove'.`,
		Example: `  mailserver queue bounce 3JX7Q2M4KZPA   # e.g. mail for a domain that no longer exists, such as old.vinhphuc.gov.vn`,
		Args:    args("ID"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				// For the confirmation: the sender and the recipients to fail.
				e, err := ctl.Call(api, ctl.QueueShow, ctl.QueueArgs{ID: args[0]})
				if err != nil {
					return err
				}
				if err := ctl.Do(api, ctl.QueueBounce, ctl.QueueArgs{ID: e.ID}); err != nil {
					return err
				}
				when := "now"
				if !serverRunning(api) {
					when = "when the server starts (it is not running)"
				}
				if e.InProgress {
					fmt.Fprintf(cmd.OutOrStdout(), "Bouncing message %s once the attempt under way ends: its sender %s will get a bounce for those of its %d pending recipient(s) that attempt does not reach.\n",
						e.ID, sender(e.From), len(e.Pending()))
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Bouncing message %s %s: its sender %s will get a bounce for its %d pending recipient(s).\n",
					e.ID, when, sender(e.From), len(e.Pending()))
				return nil
			})
		}),
	}
}
