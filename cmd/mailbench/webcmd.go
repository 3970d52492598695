package main

import (
	"context"
	"errors"
	"io"
	"time"
)

func runWebCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("web", `Measures the webmail's pages against their IMAP equivalents on one account's mailbox (fill it first:
mailbench fill). -c users log in to the webmail over HTTPS (each its own session and keep-alive connection) and
each fetches, in turn, a random list page of the mailbox (50 messages, newest first) and the page of a random
message, for -duration or until -n of each have been fetched; then -c IMAP connections SELECT the mailbox once
and do the same work: UID FETCH of the page's 50 messages' (UID FLAGS ENVELOPE), and UID FETCH BODY.PEEK[] of
the message (the same pages and messages: the random sequences share -seed). It prints the requests, p50, p99
and requests per second of each. The webmail's message page marks the message \Seen, as reading it does; the
IMAP side only peeks. The mailserver peer serves the webmail only with [http] listen_tls set (docs/benchmarks.md).`)
	tf := addTargetFlags(fs)
	cfg := webConfig{}
	var user, tlsName, https string
	fs.StringVar(&user, "user", "big", "the account every user logs in as")
	fs.StringVar(&cfg.Mailbox, "mailbox", "INBOX", "the mailbox")
	fs.IntVar(&cfg.Users, "c", 20, "concurrent users: webmail sessions, then IMAP connections")
	fs.IntVar(&cfg.Requests, "n", 0, "list pages and message pages each side fetches, of each kind (0: run for -duration)")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "time each side runs at most")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random pages and messages")
	fs.StringVar(&tlsName, "tls", "none", "IMAP TLS: none, starttls, imaps")
	fs.StringVar(&https, "https-addr", "", "the webmail's HTTPS address (default: the peer's, 127.0.0.1:8443 for mailserver)")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	if https != "" {
		t.HTTPS = https
	}
	if cfg.Users < 1 || cfg.Duration <= 0 || cfg.Requests < 0 {
		return errors.New("-c and -duration must be positive, -n not negative")
	}
	cfg.User, cfg.TLS = t.address(user), tlsMode(tlsName)
	res, err := runWeb(ctx, t, cfg)
	res.report(out, cfg)
	return err
}
