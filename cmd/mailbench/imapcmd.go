package main

import (
	"context"
	"io"
	"time"
)

func runIMAPCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("imap", `Times, on one account's mailbox (fill it first: mailbench fill), each operation -r times and prints the
median and the fastest: LOGIN on a fresh connection (the first, then repeated), SELECT, the metadata FETCH, the
header fields a client fetches on opening a folder, the full download (MiB/s), FETCH (FLAGS UID), SEARCH TEXT and
SEARCH SUBJECT for the words fill planted in 1% of the messages (the hit counts are printed: a wrong count shows),
STORE +FLAGS/-FLAGS (\Seen) on every message, and SORT when the server has it. Then it delivers -deliveries
messages to the INBOX over SMTP alone and during a FETCH 1:* loop on another connection, and deletes them again.`)
	tf := addTargetFlags(fs)
	cfg := imapConfig{}
	var user, tlsName string
	fs.StringVar(&user, "user", "big", "the account")
	fs.StringVar(&cfg.Mailbox, "mailbox", "INBOX", "the mailbox")
	fs.IntVar(&cfg.Repeat, "r", 5, "times each operation is run")
	fs.StringVar(&tlsName, "tls", "none", "IMAP TLS: none, starttls, imaps")
	fs.StringVar(&cfg.TextWord, "text", markerText, "word of SEARCH TEXT (fill puts it in 1% of the bodies)")
	fs.StringVar(&cfg.SubjectWord, "subject", markerSubject, "words of SEARCH SUBJECT (fill puts them in 1% of the subjects)")
	fs.IntVar(&cfg.Deliveries, "deliveries", 200, "messages delivered alone and during a FETCH loop (0: skip)")
	fs.IntVar(&cfg.Delivery.Size, "size", 20<<10, "size of the delivered messages")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	cfg.User, cfg.TLS = t.address(user), tlsMode(tlsName)
	cfg.Delivery = smtpConfig{Session: smtpSession{Addr: t.SMTP, TLS: tlsNone}, Conns: 1, Duration: 2 * time.Minute,
		Size: cfg.Delivery.Size, Seed: 2, From: "vanthu@" + t.Domain, Wait: 2 * time.Minute, IMAPTLS: cfg.TLS}
	res, err := runIMAP(ctx, t, cfg)
	res.report(out, cfg)
	return err
}
