package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/version"
)

// backupWarnAge is how old the last backup may be before status warns: a nightly backup that failed twice.
const backupWarnAge = 48 * time.Hour

func newStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show whether the server runs, with its listeners, directory, queue, store and last backup",
		Long: `Show this command's version and whether the server runs. A running server is asked through its control
socket: its version, since when it runs, the addresses it listens on. Then, from the server or, when none runs,
from the data file: the number of domains and accounts, the outbound queue (messages, the oldest one's age), the
store file's size and the last successful backup. Lines starting with "warning:" need an administrator: no
backup, or none for more than two days, or a running server that is another build than this command.

Exit status: 0 when the server runs, 3 when it does not (what can be read from the data file is shown all the
same), 1 when the command cannot tell (for example, no permission to use the control socket).`,
		Example: `  mailserver --config /etc/mailserver/mailserver.toml status
  mailserver status || echo "the mail server is down"`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return showStatus(cmd.OutOrStdout(), cfg, time.Now())
		}),
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show which build this is: version, commit and Go version (also --version)",
		Args:  args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), version.Read())
			return nil
		}),
	}
}

// errNotRunning ends status when no server runs, after what the data file says was shown.
var errNotRunning = &exitStatus{err: errors.New("the server is not running"), code: exitNotRunning}

// showStatus writes the status of the server that cfg configures. It never creates the data file.
func showStatus(w io.Writer, cfg config.Config, now time.Time) error {
	self := version.Read()
	fmt.Fprintln(w, self)
	field := statusField(w)
	if _, err := os.Stat(cfg.DBPath()); errors.Is(err, fs.ErrNotExist) {
		// The server makes the file before it listens: none has started here.
		field("server", "not running")
		field("store", "%s does not exist yet (the server makes it when it first starts)", cfg.DBPath())
		return errNotRunning
	}
	api, closeAPI, err := openAdmin(cfg, osUser())
	if errors.Is(err, fs.ErrPermission) { // no socket answered, and the file is the service user's alone
		field("server", "not running")
		field("store", "%s (only the user the server runs as may read it: run status as that user for more)",
			cfg.DBPath())
		return errNotRunning
	}
	if err != nil {
		return err
	}
	defer closeAPI()
	st, err := ctl.Call(api, ctl.Status, ctl.None{})
	if err != nil {
		return err
	}
	writeStatus(w, cfg, st, self, now)
	if st.Server == nil {
		return errNotRunning
	}
	return nil
}

// statusField returns a function writing one "label: value" line of the status, values aligned; an empty label
// continues the line above.
func statusField(w io.Writer) func(label, format string, v ...any) {
	return func(label, format string, v ...any) {
		if label != "" {
			label += ":"
		}
		fmt.Fprintf(w, "%-16s%s\n", label, fmt.Sprintf(format, v...))
	}
}

// writeStatus writes st, then the warnings it calls for.
func writeStatus(w io.Writer, cfg config.Config, st admin.Status, self version.Info, now time.Time) {
	field := statusField(w)
	var warnings []string
	if srv := st.Server; srv != nil {
		field("server", "running since %s (up %s)", showTime(srv.Started), shortDuration(now.Sub(srv.Started)))
		field("server version", "%s", srv.Version)
		if srv.Version != self {
			warnings = append(warnings, "the running server is another build than this command: restart it to run this one")
		}
		label := "listening"
		for _, l := range srv.Listeners {
			field(label, "%-12s %s", l.Name, l.Addr)
			label = "" // one listener a line, the label on the first
		}
		field("control socket", "%s", cfg.SocketPath())
	} else {
		field("server", "not running")
	}
	field("domains", "%d", st.Domains)
	field("accounts", "%d (%d of them shared mailboxes)", st.Accounts, st.Shared)
	if st.Queue.Messages == 0 {
		field("queue", "empty")
	} else {
		field("queue", "%d message(s), the oldest %s old", st.Queue.Messages, shortDuration(now.Sub(st.Queue.Oldest)))
	}
	field("store", "%s, %s", st.StoreFile, formatSize(st.StoreSize))
	if b := st.LastBackup; b != nil {
		field("last backup", "%s (%s ago)", backupSummary(*b), shortDuration(now.Sub(b.Time)))
		if age := now.Sub(b.Time); age > backupWarnAge {
			warnings = append(warnings, fmt.Sprintf("the last backup is %s old: check the nightly backup", shortDuration(age)))
		}
	} else {
		field("last backup", "none")
		warnings = append(warnings, "no backup recorded: take one with 'mailserver backup FILE' and schedule it nightly")
	}
	for _, warning := range warnings {
		fmt.Fprintln(w, "warning: "+warning)
	}
}
