package main

import (
	"context"
	"io"
)

func runFillCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("fill", `Fills a mailbox over IMAP APPEND with -n generated messages over -c parallel connections (the project's
client library has no MULTIAPPEND; parallel APPENDs work against every peer). Every 100th message of the mailbox,
from its first, carries the word "`+markerText+`" in its body and "`+markerSubject+`" in its subject, so that the
imap mode's SEARCH has a known answer; fill prints it. By default the mailbox is emptied first.`)
	tf := addTargetFlags(fs)
	cfg := fillConfig{}
	var user, tlsName string
	var keep bool
	fs.StringVar(&user, "user", "big", "the account")
	fs.StringVar(&cfg.Mailbox, "mailbox", "INBOX", "the mailbox")
	fs.IntVar(&cfg.Messages, "n", 10000, "messages to append")
	fs.IntVar(&cfg.Conns, "c", 4, "parallel connections")
	fs.IntVar(&cfg.Size, "size", 20<<10, "message size in bytes")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated messages")
	fs.StringVar(&tlsName, "tls", "none", "IMAP TLS: none, starttls, imaps")
	fs.BoolVar(&keep, "keep", false, "append to what the mailbox holds instead of emptying it first")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	cfg.User, cfg.TLS, cfg.Empty, cfg.From = t.address(user), tlsMode(tlsName), !keep, "vanthu@"+t.Domain
	res, err := runFill(ctx, t, cfg)
	res.report(out, cfg)
	return err
}
