package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"mailserver/internal/address"
	"mailserver/internal/config"
	"mailserver/internal/version"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed
	exitUsage   = 2 // the command line was wrong
	// exitNotRunning is status's exit status when no server runs: LSB's "program is not running", so that scripts
	// and monitoring can tell it from a command that failed.
	exitNotRunning = 3
)

// app holds what every command shares: the global flags.
type app struct {
	configPath string
}

// config loads the configuration file named by --config, or the built-in defaults without one.
func (a *app) config() (config.Config, error) { return config.Load(a.configPath) }

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "mailserver",
		Short: "The official mail server: SMTP, IMAP and its administration",
		Long: `mailserver serves an organisation's official mail (SMTP, IMAP) and administers it.

Every administration command works the same whether the server is running (it then talks to it through the
control socket in the data folder) or not (it then opens the data file directly). Passwords are never
command-line arguments: they are read from standard input when it is not a terminal, and asked for twice
otherwise.

Without --config, the built-in development settings are used (data in ./data, loopback listeners only).`,
		Example: `  mailserver --config /etc/mailserver/mailserver.toml serve
  mailserver domain add vinhyen.gov.vn
  mailserver unit add vinhyen/ubnd/phong-noi-vu --name "Phòng Nội vụ"
  mailserver user add an.nv@vinhyen.gov.vn --name "Nguyễn Văn An" --unit vinhyen/ubnd/phong-noi-vu --quota 2GB
  mailserver user list`,
		SilenceErrors: true, // report prints the one-line reason
		SilenceUsage:  true,
		Version:       version.Read().String(), // --version
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.CompletionOptions.HiddenDefaultCmd = true
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration `FILE` (TOML); default: built-in development settings")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return err })
	root.AddCommand(newServeCmd(a), newReindexCmd(a), newDomainCmd(a), newUnitCmd(a), newUserCmd(a), newAliasCmd(a), newGroupCmd(a),
		newShareCmd(a), newSieveCmd(a), newVacationCmd(a), newQuotaCmd(a), newQueueCmd(a), newAuditCmd(a), newCheckCmd(a), newCompactCmd(a),
		newBackupCmd(a), newRestoreCmd(a), newExportCmd(a), newImportCmd(a), newStatusCmd(a), newVersionCmd())
	return root
}

// failure marks an error returned by a command that ran, as opposed to a command line that was wrong.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// exitStatus is a failure with an exit status of its own (exitNotRunning).
type exitStatus struct {
	err  error
	code int
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

// runE adapts a command's action: its errors are failures (exit 1), while cobra's own errors about flags,
// arguments and unknown commands stay usage errors (exit 2).
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &failure{err}
		}
		return nil
	}
}

// report writes err as one line "mailserver: <reason>" to w and returns the exit code. A usage error also
// points at the help of the command that was meant.
func report(cmd *cobra.Command, err error, w io.Writer) int {
	if err == nil {
		return exitOK
	}
	msg := oneLine(err.Error())
	code := exitFailure
	if s := (*exitStatus)(nil); errors.As(err, &s) {
		code = s.code
	}
	if f := (*failure)(nil); !errors.As(err, &f) {
		code = exitUsage
		if cmd != nil {
			msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
		}
	}
	fmt.Fprintf(w, "mailserver: %s\n", msg)
	return code
}

// oneLine joins a message's lines (cobra's "Did you mean this?" suggestions span several) into one.
func oneLine(s string) string {
	var parts []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

// display writes an address, unit or selector the way it is stored, for confirmations.
func display(s string) string { return address.Fold(s) }

// displayDomain writes a domain the way it is stored (huế.vn as xn--hu-07s.vn), for confirmations.
func displayDomain(s string) string { return address.FoldDomain(s) }

// args accepts exactly the positional arguments named, and says which one is missing or which is extra.
func args(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return fmt.Errorf("missing %s", names[len(args)])
		}
		if len(args) > len(names) {
			return fmt.Errorf("unexpected argument %q", args[len(names)])
		}
		return nil
	}
}

// argsAtLeast accepts the positional arguments named, the last one repeated any number of times, and says which
// one is missing.
func argsAtLeast(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return fmt.Errorf("missing %s", names[len(args)])
		}
		return nil
	}
}

// group returns a command that only holds subcommands: alone it shows its help; with an unknown subcommand
// it is a usage error (cobra would otherwise show the help and succeed).
func group(use, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}
