package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
)

// maxScriptRead bounds the script put reads: the largest sieve.max_script_size a configuration may set. The
// server's own limit, usually smaller, is checked when the script is stored.
const maxScriptRead = 16 * config.MB

func newSieveCmd(a *app) *cobra.Command {
	cmd := group("sieve", "Manage users' mail filters (Sieve scripts)",
		`Each user or shared mailbox may keep several filter scripts (Sieve, RFC 5228), of which at most one is
active: it runs on every message delivered to the mailbox, filing it into folders, flagging or discarding it.
Users edit their own filters over ManageSieve (port 4190), from Thunderbird's filter editor (with the Sieve add-on)
or Roundcube's; these commands do the same for an administrator, for example for a colleague who is away.
Every script is checked when it is stored: one that does not compile, or that forwards mail where the
organisation's policy ([sieve] forward_domains, forward_units) does not allow, is refused with the reason and,
for a mistake, its line and column.`)
	cmd.AddCommand(newSieveListCmd(a), newSieveGetCmd(a), newSievePutCmd(a), newSieveActivateCmd(a), newSieveRemoveCmd(a))
	return cmd
}

func newSieveListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list ADDRESS",
		Short: "List the filter scripts of a user or shared mailbox",
		Long: `List the filter scripts of a user or shared mailbox: NAME, ACTIVE ("yes" for the one that runs on
delivery), SIZE and UPDATED (when the script was last stored).`,
		Example: `  mailserver sieve list an.nv@vinhyen.gov.vn`,
		Args:    args("ADDRESS"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				scripts, err := ctl.Call(api, ctl.SieveList, ctl.AddressArgs{Address: args[0]})
				if err != nil {
					return err
				}
				return writeSieveList(cmd.OutOrStdout(), scripts)
			})
		}),
	}
}

// writeSieveList prints the scripts as a table, in the order the store keeps them (by name).
func writeSieveList(w io.Writer, scripts []admin.SieveScriptInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTIVE\tSIZE\tUPDATED")
	for _, s := range scripts {
		active := "-"
		if s.Active {
			active = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cleanCell(s.Name), active, formatSize(int64(s.Size)), showTime(s.Updated))
	}
	return tw.Flush()
}

func newSieveGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get ADDRESS NAME",
		Short: "Write a filter script's text to standard output",
		Long: `Write the text of one of a user's filter scripts to standard output, exactly as it is stored: redirect it
to a file to edit it, then store it again with 'mailserver sieve put'.`,
		Example: `  mailserver sieve get an.nv@vinhyen.gov.vn "lọc thư" > loc-thu.sieve`,
		Args:    args("ADDRESS", "NAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				src, err := ctl.Call(api, ctl.SieveGet, ctl.SieveArgs{Address: args[0], Name: args[1]})
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(src)
				return err
			})
		}),
	}
}

func newSievePutCmd(a *app) *cobra.Command {
	var activate bool
	cmd := &cobra.Command{
		Use:   "put ADDRESS NAME [FILE]",
		Short: "Store a filter script, from a file or standard input",
		Long: `Store a filter script for a user or shared mailbox under NAME, replacing a script of that name. The script
is read from FILE, or from standard input when FILE is - or absent. It is checked first: a script that does not
compile is refused with the line and column of the mistake, and one that forwards mail outside what the
organisation allows is refused with the reason; nothing is stored then. With --activate it also becomes the
script that runs on delivery; otherwise a new script stays inactive and the active one keeps running.`,
		Example: `  mailserver sieve put an.nv@vinhyen.gov.vn "lọc thư" loc-thu.sieve --activate
  mailserver sieve put vanthu@vinhyen.gov.vn "công văn đến" < cong-van.sieve`,
		Args: func(cmd *cobra.Command, given []string) error {
			if len(given) >= 3 {
				return args("ADDRESS", "NAME", "FILE")(cmd, given)
			}
			return args("ADDRESS", "NAME")(cmd, given)
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			file := "-"
			if len(args) == 3 {
				file = args[2]
			}
			src, err := readScript(cmd.InOrStdin(), cmd.ErrOrStderr(), file)
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				put := ctl.SievePutArgs{Address: args[0], Name: args[1], Script: string(src), Activate: activate}
				if err := ctl.Do(api, ctl.SievePut, put); err != nil {
					return err
				}
				state := "inactive"
				if activate {
					state = "active"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "stored filter script “%s” of %s (%s, %s)\n", args[1], display(args[0]),
					formatSize(int64(len(src))), state)
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&activate, "activate", false, "also make it the script that runs on delivery")
	return cmd
}

// readScript reads a script from file, or from stdin for "-", up to maxScriptRead bytes. On a terminal it says
// how to end the script, rather than seem to hang.
func readScript(stdin io.Reader, prompt io.Writer, file string) ([]byte, error) {
	from, in := "standard input", stdin
	if f, ok := stdin.(*os.File); ok && file == "-" && isTerminal(f) {
		fmt.Fprintln(prompt, "Type the script, then Ctrl-D on a line of its own (or give a FILE):")
	}
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("script file: %w", err)
		}
		defer f.Close()
		from, in = file, f
	}
	src, err := io.ReadAll(io.LimitReader(in, int64(maxScriptRead)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the script from %s: %w", from, err)
	case len(src) > int(maxScriptRead):
		return nil, fmt.Errorf("the script in %s is larger than %s, more than any server takes", from, formatSize(int64(maxScriptRead)))
	case len(src) == 0:
		return nil, fmt.Errorf("the script in %s is empty: give a FILE, or the script on standard input", from)
	}
	return src, nil
}

func newSieveActivateCmd(a *app) *cobra.Command {
	var none bool
	cmd := &cobra.Command{
		Use:   "activate ADDRESS NAME | --none",
		Short: "Choose the filter script that runs on delivery, or turn filtering off",
		Long: `Make NAME the filter script that runs on every message delivered to the mailbox; the one active before is
kept but no longer runs. With --none instead of a NAME, no script runs: mail is delivered to the inbox as it comes.`,
		Example: `  mailserver sieve activate an.nv@vinhyen.gov.vn "lọc thư"
  mailserver sieve activate an.nv@vinhyen.gov.vn --none`,
		Args: func(cmd *cobra.Command, given []string) error {
			if none {
				return args("ADDRESS")(cmd, given)
			}
			if len(given) == 1 {
				return errors.New("missing NAME, or --none to turn filtering off")
			}
			return args("ADDRESS", "NAME")(cmd, given)
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			sa := ctl.SieveArgs{Address: args[0]}
			if !none {
				sa.Name = args[1]
				if sa.Name == "" {
					return errors.New("the script name is empty: give a NAME, or --none to turn filtering off")
				}
			}
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.SieveActivate, sa); err != nil {
					return err
				}
				if none {
					fmt.Fprintf(cmd.OutOrStdout(), "turned filtering off for %s: no script runs\n", display(args[0]))
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "set the active filter of %s to “%s”\n", display(args[0]), sa.Name)
				}
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&none, "none", false, "turn filtering off: no script runs")
	return cmd
}

func newSieveRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ADDRESS NAME",
		Short: "Remove a filter script",
		Long: `Remove one of a user's filter scripts. The active script cannot be removed: activate another or turn
filtering off with 'mailserver sieve activate ADDRESS --none' first.`,
		Example: `  mailserver sieve remove an.nv@vinhyen.gov.vn "lọc thư cũ"`,
		Args:    args("ADDRESS", "NAME"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(api ctl.Backend) error {
				if err := ctl.Do(api, ctl.SieveRemove, ctl.SieveArgs{Address: args[0], Name: args[1]}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed filter script “%s” of %s\n", args[1], display(args[0]))
				return nil
			})
		}),
	}
}
