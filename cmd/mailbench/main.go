// Command mailbench measures a running mail server over the real protocols (SMTP, submission with AUTH, IMAP),
// so that the same load can be run against this project's server and its peers (Postfix+Dovecot, maddy) on one
// machine, and generates province-size stores offline. docs/benchmarks.md says what each figure means and how to
// rerun the published table.
//
// Every subcommand is bounded in count and in time, and talks only to the addresses it is given (the defaults are
// the loopback ports of the peers set up by the bench-peers scripts).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// subcommand is one mode of the tool: its flags are parsed by run.
type subcommand struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

func subcommands() []subcommand {
	return []subcommand{
		{"smtp", "deliver generated messages over SMTP or submission and time them until visible over IMAP", runSMTPCmd},
		{"imap", "time the IMAP operations a client does on one mailbox (LOGIN, SELECT, FETCH, SEARCH, STORE, SORT)", runIMAPCmd},
		{"fill", "fill a mailbox over IMAP APPEND with generated messages, 1% of them carrying search markers", runFillCmd},
		{"logins", "P parallel LOGINs: latency percentiles and the server's memory before and after", runLoginsCmd},
		{"idle", "hold K IMAP connections in IDLE and report the server's memory per connection", runIdleCmd},
		{"web", "webmail list and message pages under C users, next to the same work over IMAP", runWebCmd},
		{"cpu", "print the CPU time and memory of a server's process tree (what the other modes report per message)", runCPUCmd},
		{"province", "generate a province-size store offline (accounts across a unit tree, messages with a skew)", runProvinceCmd},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "mailbench:", err)
		}
		os.Exit(1)
	}
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(errOut)
		if len(args) == 0 {
			return errors.New("no subcommand")
		}
		return nil
	}
	for _, c := range subcommands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], out)
		}
	}
	usage(errOut)
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mailbench SUBCOMMAND [flags]   (mailbench SUBCOMMAND -h explains the flags)")
	fmt.Fprintln(w)
	for _, c := range subcommands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The target defaults to the loopback ports of a bench-peers peer chosen with -peer (mailserver,")
	fmt.Fprintln(w, "postfix-dovecot, maddy); see docs/benchmarks.md.")
}

// newFlagSet returns a flag set for a subcommand whose -h prints what the subcommand does before its flags.
func newFlagSet(name, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("mailbench "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mailbench %s [flags]\n\n%s\n\nflags:\n", name, about)
		fs.PrintDefaults()
	}
	return fs
}
