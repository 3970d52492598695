package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// peer is where a bench-peers peer listens and what its accounts' password is (see /work/shared/bench-peers and
// docs/benchmarks.md: every peer has big@, user1..4@ and idle1..4@ of example.gov.vn).
type peer struct {
	smtp, submission, imap, imaps string
	https                         string // the webmail's listener; "" for a peer without one
	password                      string
	pidFiles                      []string // the process trees whose CPU and memory the figures count
}

// stateDir is where the bench-peers scripts keep the peers' state ($MB_STATE).
func stateDir() string {
	if d := os.Getenv("MB_STATE"); d != "" {
		return d
	}
	return "/var/lib/mailbench"
}

func peers() map[string]peer {
	state := stateDir()
	return map[string]peer{
		"mailserver": {"127.0.0.1:2527", "127.0.0.1:5589", "127.0.0.1:1145", "127.0.0.1:1995", "127.0.0.1:8443", "benchpass10",
			[]string{filepath.Join(state, "mailserver", "mailserver.pid")}},
		// Postfix answers SMTP and hands each message to Dovecot's LMTP: both trees do the delivery's work.
		"postfix-dovecot": {"127.0.0.1:12525", "127.0.0.1:15587", "127.0.0.1:11143", "127.0.0.1:11993", "", "benchpass",
			[]string{"/var/spool/postfix/pid/master.pid", "/run/dovecot-mailbench/master.pid"}},
		"maddy": {"127.0.0.1:2526", "127.0.0.1:5588", "127.0.0.1:1144", "127.0.0.1:1994", "", "benchpass",
			[]string{filepath.Join(state, "maddy", "maddy.pid")}},
	}
}

// target is the server a subcommand talks to, after -peer's defaults and the explicit flags are combined.
type target struct {
	SMTP, Submission, IMAP, IMAPS string
	HTTPS                         string // the webmail (this project's server only)
	Domain                        string // of the accounts named without @
	Password                      string
	PIDFiles                      []string
	TLS                           tlsSettings
}

// targetFlags registers the flags that choose the server; resolve applies them after parsing.
type targetFlags struct {
	fs                            *flag.FlagSet
	peer                          string
	smtp, submission, imap, imaps string
	domain, password, pidFiles    string
	tlsCA                         string
	tlsInsecure                   bool
}

func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	f := &targetFlags{fs: fs}
	names := slices.Sorted(maps.Keys(peers()))
	fs.StringVar(&f.peer, "peer", "mailserver", "bench-peers peer whose ports, password and pid files are the defaults: "+strings.Join(names, ", "))
	fs.StringVar(&f.smtp, "smtp-addr", "", "SMTP (MX, no AUTH) address (default: the peer's)")
	fs.StringVar(&f.submission, "submission-addr", "", "submission address, AUTH PLAIN (default: the peer's)")
	fs.StringVar(&f.imap, "imap-addr", "", "IMAP address, plain or STARTTLS (default: the peer's)")
	fs.StringVar(&f.imaps, "imaps-addr", "", "IMAPS (implicit TLS) address (default: the peer's)")
	fs.StringVar(&f.domain, "domain", "example.gov.vn", "domain of the accounts named without @")
	fs.StringVar(&f.password, "pass", "", "password of every account used (default: the peer's, benchpass or benchpass10)")
	fs.StringVar(&f.pidFiles, "pidfile", "", "comma-separated pid files of the server's process trees, for CPU and memory (default: the peer's; \"-\" for none)")
	fs.StringVar(&f.tlsCA, "tls-ca", filepath.Join(stateDir(), "certs", "cert.pem"), "certificate that signs the server's TLS certificate")
	fs.BoolVar(&f.tlsInsecure, "tls-insecure", false, "do not verify the server's TLS certificate (self-signed test certificates)")
	return f
}

// resolve returns the target: the peer's settings with each flag given on the command line in their place.
func (f *targetFlags) resolve() (target, error) {
	p, ok := peers()[f.peer]
	if !ok {
		return target{}, fmt.Errorf("unknown -peer %q", f.peer)
	}
	t := target{SMTP: p.smtp, Submission: p.submission, IMAP: p.imap, IMAPS: p.imaps, HTTPS: p.https, Domain: f.domain,
		Password: p.password, PIDFiles: p.pidFiles, TLS: tlsSettings{CAFile: f.tlsCA, Insecure: f.tlsInsecure}}
	override := map[string]func(){
		"smtp-addr":       func() { t.SMTP = f.smtp },
		"submission-addr": func() { t.Submission = f.submission },
		"imap-addr":       func() { t.IMAP = f.imap },
		"imaps-addr":      func() { t.IMAPS = f.imaps },
		"pass":            func() { t.Password = f.password },
		"pidfile":         func() { t.PIDFiles = splitList(f.pidFiles) },
	}
	f.fs.Visit(func(fl *flag.Flag) {
		if set, ok := override[fl.Name]; ok {
			set()
		}
	})
	return t, nil
}

// address completes a local part with the target's domain.
func (t target) address(user string) string {
	if strings.Contains(user, "@") {
		return user
	}
	return user + "@" + t.Domain
}

// addresses completes each of a comma-separated list of accounts.
func (t target) addresses(list string) []string {
	var out []string
	for _, u := range splitList(list) {
		out = append(out, t.address(u))
	}
	return out
}

// splitList splits a comma-separated flag value, dropping empty items and "-".
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" && item != "-" {
			out = append(out, item)
		}
	}
	return out
}

// parse parses a subcommand's arguments and returns the target they name.
func (f *targetFlags) parse(args []string) (target, error) {
	if err := f.fs.Parse(args); err != nil {
		return target{}, err
	}
	return f.resolve()
}
