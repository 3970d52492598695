package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

func runSMTPCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("smtp", `Delivers generated messages (Vietnamese text with diacritics, RFC 2047 subject, multipart/alternative,
quoted-printable; deterministic from -seed) over C connections to the MX port, or to the submission port with
STARTTLS when offered and AUTH PLAIN, and reports accepted msgs/s, DATA→250 p50/p99 and END TO END: the time until
every accepted message is visible over IMAP (STATUS MESSAGES of each recipient's INBOX, polled every 25 ms), as
e2e msgs/s. With pid files (the peer's by default) it also reports the server's CPU time per message.`)
	tf := addTargetFlags(fs)
	cfg := smtpConfig{}
	var rcpts, user, tlsName, imapTLS string
	var submission, keep bool
	var runs int
	fs.IntVar(&cfg.Conns, "c", 8, "parallel SMTP connections (the table uses 1, 8, 32)")
	fs.IntVar(&cfg.Messages, "n", 2000, "messages to send (at most)")
	fs.DurationVar(&cfg.Duration, "duration", 2*time.Minute, "stop sending after this long even if -n are not sent")
	fs.IntVar(&cfg.Size, "size", 20<<10, "message size in bytes")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated messages")
	fs.IntVar(&cfg.PerMessage, "rcpts", 1, "recipients per message (taken in turn from -to)")
	fs.StringVar(&rcpts, "to", "user1,user2,user3,user4", "recipient accounts, comma-separated (local parts get -domain)")
	fs.StringVar(&cfg.From, "from", "vanthu@example.gov.vn", "envelope and header sender")
	fs.BoolVar(&submission, "submission", false, "use the submission port with AUTH PLAIN as -user instead of the MX port")
	fs.StringVar(&user, "user", "user1", "the submission login")
	fs.StringVar(&tlsName, "tls", "auto", "SMTP TLS: auto (STARTTLS when offered), starttls, none")
	fs.StringVar(&imapTLS, "imap-tls", "none", "TLS of the IMAP connections that watch the INBOXes: none, starttls, imaps")
	fs.BoolVar(&keep, "keep", false, "do not empty the recipients' INBOXes first (STORE \\Deleted + EXPUNGE); measures delivery into full mailboxes")
	fs.DurationVar(&cfg.Wait, "wait", 2*time.Minute, "how long to wait for every accepted message to be visible over IMAP")
	fs.IntVar(&runs, "runs", 1, "repeat the run this many times and print the median e2e rate (the table uses 3)")
	t, err := tf.parse(args)
	if err != nil {
		return err
	}
	cfg.Recipients, cfg.Empty, cfg.IMAPTLS = t.addresses(rcpts), !keep, tlsMode(imapTLS)
	cfg.Session = smtpSession{Addr: t.SMTP, TLS: tlsMode(tlsName)}
	kind := "MX, no AUTH"
	if submission {
		cfg.Session.Addr, cfg.Session.User, kind = t.Submission, t.address(user), "submission, AUTH PLAIN as "+t.address(user)
	}
	fmt.Fprintf(out, "smtp %s (%s), %d connection(s), %d messages of %d bytes, %d recipient(s) each over %d mailboxes\n",
		cfg.Session.Addr, kind, cfg.Conns, cfg.Messages, cfg.Size, cfg.PerMessage, len(cfg.Recipients))
	return repeatSMTP(ctx, out, t, cfg, runs)
}

func repeatSMTP(ctx context.Context, out io.Writer, t target, cfg smtpConfig, runs int) error {
	var results []smtpResult
	for i := range max(runs, 1) {
		res, err := runSMTP(ctx, t, cfg)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		res.report(out, fmt.Sprintf("run %d", i+1))
		if res.Failed > 0 {
			return errFailures
		}
		results = append(results, res)
	}
	summarize(out, results)
	return nil
}
