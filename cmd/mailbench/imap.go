package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapConfig is one run of the imap mode.
type imapConfig struct {
	User        string
	Mailbox     string
	Repeat      int
	TLS         tlsMode
	TextWord    string // SEARCH TEXT
	SubjectWord string // SEARCH SUBJECT
	// Delivery during FETCH: Deliveries messages over SMTP to User's INBOX, alone and while another connection
	// runs FETCH 1:* in a loop. 0 skips it.
	Deliveries int
	Delivery   smtpConfig
}

// opResult is one timed operation.
type opResult struct {
	Name    string
	Samples []time.Duration
	Detail  string // what the result was: a count, a rate
}

// imapResult is what the imap mode measured.
type imapResult struct {
	Messages                int
	TextHits, SubjectHits   int
	Ops                     []opResult
	DeliveryAlone, Delivery smtpResult // delivery without and with the FETCH loop
}

func runIMAP(ctx context.Context, t target, cfg imapConfig) (imapResult, error) {
	var res imapResult
	login, err := timeLogins(t, cfg)
	if err != nil {
		return res, err
	}
	res.Ops = append(res.Ops, login...)
	c, err := loginIMAP(t, cfg.TLS, cfg.User)
	if err != nil {
		return res, err
	}
	defer c.Close()
	b := &imapBench{c: c, cfg: cfg, res: &res}
	if err := b.selectMailbox(); err != nil {
		return res, err
	}
	if b.raw, err = b.openRaw(t); err != nil {
		return res, err
	}
	defer b.raw.Close()
	for _, step := range []func() error{b.fetches, b.searches, b.stores, b.sort} {
		if err := step(); err != nil {
			return res, err
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if cfg.Deliveries > 0 {
		if err := b.deliveryDuringFetch(ctx, t); err != nil {
			return res, err
		}
	}
	return res, c.Logout().Wait()
}

// timeLogins times LOGIN on a fresh connection Repeat+1 times: the first (nothing cached) and the others.
func timeLogins(t target, cfg imapConfig) ([]opResult, error) {
	var samples []time.Duration
	for range cfg.Repeat + 1 {
		c, err := dialIMAP(t, cfg.TLS)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		err = c.Login(cfg.User, t.Password).Wait()
		samples = append(samples, time.Since(start))
		c.Logout().Wait()
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("LOGIN %s: %w", cfg.User, err)
		}
	}
	return []opResult{{Name: "LOGIN (first)", Samples: samples[:1]}, {Name: "LOGIN (repeated)", Samples: samples[1:]}}, nil
}

// imapBench runs the timed operations: LOGIN and SELECT with the go-imap client, the bulk commands on a raw
// connection (see rawIMAP), so that what is timed is the server's work and the reading of its bytes.
type imapBench struct {
	c   *imapclient.Client
	raw *rawIMAP
	cfg imapConfig
	res *imapResult
}

// openRaw leaves the mailbox on the go-imap connection (UNSELECT, RFC 3691, when the server has it: a second
// session with the mailbox selected would be told of every flag the STOREs change, work a lone client does not
// cause) and opens the raw connection, logged in with the mailbox selected.
func (b *imapBench) openRaw(t target) (*rawIMAP, error) {
	if b.c.Caps().Has(imap.CapUnselect) {
		if err := b.c.Unselect().Wait(); err != nil {
			return nil, fmt.Errorf("UNSELECT: %w", err)
		}
	}
	raw, err := dialRawIMAP(t, b.cfg.TLS, b.cfg.User)
	if err != nil {
		return nil, err
	}
	if _, err := raw.command("SELECT " + quoted(b.cfg.Mailbox)); err != nil {
		raw.Close()
		return nil, err
	}
	return raw, nil
}

// timed runs op Repeat times and records the samples under name with the detail of the last run.
func (b *imapBench) timed(name string, op func() (string, error)) error {
	r := opResult{Name: name}
	for range max(b.cfg.Repeat, 1) {
		start := time.Now()
		detail, err := op()
		r.Samples = append(r.Samples, time.Since(start))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.Detail = detail
	}
	b.res.Ops = append(b.res.Ops, r)
	return nil
}

func (b *imapBench) selectMailbox() error {
	return b.timed("SELECT "+b.cfg.Mailbox, func() (string, error) {
		sel, err := b.c.Select(b.cfg.Mailbox, nil).Wait()
		if err != nil {
			return "", err
		}
		b.res.Messages = int(sel.NumMessages)
		return fmt.Sprintf("%d messages", sel.NumMessages), nil
	})
}

func (b *imapBench) fetches() error {
	for _, op := range fetchCommands {
		err := b.timed(op.command, func() (string, error) {
			start := time.Now()
			f, err := fetchAll(b.raw, op.command)
			if err != nil || !op.sections {
				return fmt.Sprintf("%d messages", f.messages), err
			}
			mibps := float64(f.bytes) / (1 << 20) / time.Since(start).Seconds()
			return fmt.Sprintf("%d messages, %s, %.0f MiB/s", f.messages, mib(f.bytes), mibps), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *imapBench) searches() error {
	text := "UID SEARCH TEXT " + b.cfg.TextWord
	if err := b.timed(text, b.search("UID SEARCH CHARSET UTF-8 TEXT", b.cfg.TextWord, &b.res.TextHits)); err != nil {
		return err
	}
	subject := fmt.Sprintf("UID SEARCH CHARSET UTF-8 SUBJECT %q", b.cfg.SubjectWord)
	return b.timed(subject, b.search("UID SEARCH CHARSET UTF-8 SUBJECT", b.cfg.SubjectWord, &b.res.SubjectHits))
}

// search returns an operation that sends command with word as a literal (it may be UTF-8, which a quoted string
// cannot hold: RFC 3501 4.3) and stores the number of hits.
func (b *imapBench) search(command, word string, hits *int) func() (string, error) {
	return func() (string, error) {
		reply, err := b.raw.commandWithLiteral(command, []byte(word))
		if err != nil {
			return "", err
		}
		*hits = len(reply.numbers)
		return fmt.Sprintf("%d hits", *hits), nil
	}
}

// stores times adding \Seen to every message and removing it again, in turn, so that each run changes every
// message (a server need not answer for flags that did not change) and the mailbox is left as it was.
func (b *imapBench) stores() error {
	add := opResult{Name: "UID STORE 1:* +FLAGS (\\Seen)"}
	del := opResult{Name: "UID STORE 1:* -FLAGS (\\Seen)"}
	for range max(b.cfg.Repeat, 1) {
		for _, op := range []*opResult{&add, &del} {
			start := time.Now()
			reply, err := b.raw.command(op.Name)
			op.Samples = append(op.Samples, time.Since(start))
			if err != nil {
				return err
			}
			op.Detail = fmt.Sprintf("%d FETCH responses", reply.fetches)
		}
	}
	b.res.Ops = append(b.res.Ops, add, del)
	return nil
}

// sort times the SORT a client asks for a newest-first list, when the server has SORT (RFC 5256).
func (b *imapBench) sort() error {
	const command = "UID SORT (REVERSE DATE) UTF-8 ALL"
	if !b.c.Caps().Has(imap.CapSort) {
		b.res.Ops = append(b.res.Ops, opResult{Name: command, Detail: "no SORT capability"})
		return nil
	}
	return b.timed(command, func() (string, error) {
		reply, err := b.raw.command(command)
		return fmt.Sprintf("%d messages", len(reply.numbers)), err
	})
}

// report prints the figures: the median and the fastest of each operation, and what it returned.
func (r imapResult) report(w io.Writer, cfg imapConfig) {
	fmt.Fprintf(w, "imap %s %s: %d messages; each operation %d time(s): median (min)\n", cfg.User, cfg.Mailbox, r.Messages, cfg.Repeat)
	for _, op := range r.Ops {
		if len(op.Samples) == 0 {
			fmt.Fprintf(w, "  %-76s %s\n", op.Name, op.Detail)
			continue
		}
		fmt.Fprintf(w, "  %-76s %9s (%s)  %s\n", op.Name, ms(median(op.Samples)), ms(percentile(op.Samples, 0)), op.Detail)
	}
	if r.DeliveryAlone.Sent > 0 {
		alone, busy := r.DeliveryAlone.e2eRate(), r.Delivery.e2eRate()
		fmt.Fprintf(w, "  delivery to %s: alone %.0f e2e msgs/s (DATA→250 p50 %s); during a FETCH 1:* loop %.0f msgs/s (p50 %s): %+.0f%%\n",
			cfg.User, alone, ms(median(r.DeliveryAlone.Latencies)), busy, ms(median(r.Delivery.Latencies)), (busy/alone-1)*100)
	}
}
