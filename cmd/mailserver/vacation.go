package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

func newVacationCmd(a *app) *cobra.Command {
	cmd := group("vacation", "Set or end a user's automatic reply",
		`An automatic reply ("vacation", RFC 5230) answers mail while a user is away: at most once per sender in the
days given, never to mailing lists, bulk mail or other automatic replies (RFC 3834). Users set their own from a mail
client's filter editor; these commands set one for them, for example for a colleague who left in a hurry. It is
a filter script of its own, named "vacation" (see mailserver sieve): while it is on, the user's own active filter
script does not run; "vacation off" runs it again.`)
	cmd.AddCommand(newVacationSetCmd(a), newVacationOffCmd(a))
	return cmd
}

func newVacationSetCmd(a *app) *cobra.Command {
	var from, until, subject, messageFile string
	var days int
	cmd := &cobra.Command{
		Use:   "set ADDRESS",
		Short: "Answer a user's mail automatically, between two dates",
		Long: `Answer the mail of a user or shared mailbox automatically, from --from to --until (dates as YYYY-MM-DD in the
server's time zone, both included; without them, from now on until "vacation off"). The reply's text comes from
--message FILE (- for standard input); without it, a text in Vietnamese then English names the dates. Its
subject is --subject, or "Trả lời tự động / Auto: " and the subject of the message answered.`,
		Example: `  mailserver vacation set an.nv@vinhyen.gov.vn --from 2026-12-20 --until 2026-12-31
  mailserver vacation set an.nv@vinhyen.gov.vn --until 2026-12-31 --message nghi-phep.txt --subject "Nghỉ phép"`,
		Args: args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := admin.VacationRequest{Address: args[0], Subject: subject, Days: days}
			var err error
			if req.From, err = parseDay("--from", from); err != nil {
				return err
			}
			if req.Until, err = parseDay("--until", until); err != nil {
				return err
			}
			if messageFile != "" {
				text, err := readMessageText(cmd, messageFile)
				if err != nil {
					return err
				}
				req.Message = text
			}
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.VacationSet, req); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "automatic reply of %s set%s\n", display(args[0]), replyWindow(from, until))
				return nil
			})
		}),
	}
	cmd.Flags().StringVar(&from, "from", "", "first day of the replies (YYYY-MM-DD); default: now")
	cmd.Flags().StringVar(&until, "until", "", "last day of the replies (YYYY-MM-DD); default: until vacation off")
	cmd.Flags().StringVar(&subject, "subject", "", "subject of the replies")
	cmd.Flags().StringVar(&messageFile, "message", "", "file holding the text of the replies (- for standard input)")
	cmd.Flags().IntVar(&days, "days", 1, "days between two replies to the same sender")
	return cmd
}

func newVacationOffCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "off ADDRESS",
		Short:   "End a user's automatic reply",
		Long:    `End the automatic reply set by "vacation set"; the user's own filter script, if one was active before, runs again.`,
		Example: `  mailserver vacation off an.nv@vinhyen.gov.vn`,
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.VacationOff, ctl.AddressArgs{Address: args[0]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "automatic reply of %s ended\n", display(args[0]))
				return nil
			})
		}),
	}
}

// parseDay reads a YYYY-MM-DD date in the local time zone; "" is no date.
func parseDay(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: write the date as YYYY-MM-DD, e.g. 2026-12-31", flag, s)
	}
	return t, nil
}

func replyWindow(from, until string) string {
	switch {
	case from != "" && until != "":
		return fmt.Sprintf(" from %s to %s", from, until)
	case until != "":
		return " until " + until
	case from != "":
		return " from " + from
	}
	return " (until vacation off)"
}

// readMessageText reads the reply's text from file, or standard input for "-".
func readMessageText(cmd *cobra.Command, file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = readScript(cmd.InOrStdin(), cmd.ErrOrStderr(), "-")
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("--message: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", fmt.Errorf("--message %s is empty: leave --message out for the default text", file)
	}
	return string(b), nil
}
