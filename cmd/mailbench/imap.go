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
	steps := []func() error{b.selectMailbox, b.fetches, b.searches, b.stores, b.sort}
	for _, step := range steps {
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

// imapBench runs the timed operations on one logged-in connection.
type imapBench struct {
	c   *imapclient.Client
	cfg imapConfig
	res *imapResult
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
	ops := []struct {
		name string
		opts *imap.FetchOptions
	}{
		{"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)", fetchMetadata},
		{"UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", fetchHeaderFields},
		{"UID FETCH 1:* BODY.PEEK[]", fetchFull},
		{"UID FETCH 1:* (FLAGS UID)", fetchFlags},
	}
	for _, op := range ops {
		err := b.timed(op.name, func() (string, error) {
			start := time.Now()
			f, err := fetchAll(b.c, op.opts)
			if err != nil || f.bytes == 0 {
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
	text := &imap.SearchCriteria{Text: []string{b.cfg.TextWord}}
	if err := b.timed("UID SEARCH TEXT "+b.cfg.TextWord, b.search(text, &b.res.TextHits)); err != nil {
		return err
	}
	subject := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: b.cfg.SubjectWord}}}
	return b.timed(fmt.Sprintf("UID SEARCH CHARSET UTF-8 SUBJECT %q", b.cfg.SubjectWord), b.search(subject, &b.res.SubjectHits))
}

// search returns an operation that runs UID SEARCH with criteria and stores the number of hits.
func (b *imapBench) search(criteria *imap.SearchCriteria, hits *int) func() (string, error) {
	return func() (string, error) {
		data, err := b.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return "", err
		}
		*hits = len(data.AllUIDs())
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
			flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}
			if op == &del {
				flags.Op = imap.StoreFlagsDel
			}
			start := time.Now()
			msgs, err := b.c.Store(allUIDs, flags, nil).Collect()
			op.Samples = append(op.Samples, time.Since(start))
			if err != nil {
				return fmt.Errorf("%s: %w", op.Name, err)
			}
			op.Detail = fmt.Sprintf("%d FETCH responses", len(msgs))
		}
	}
	b.res.Ops = append(b.res.Ops, add, del)
	return nil
}

// sort times the SORT a client asks for a newest-first list, when the server has SORT (RFC 5256).
func (b *imapBench) sort() error {
	if !b.c.Caps().Has(imap.CapSort) {
		b.res.Ops = append(b.res.Ops, opResult{Name: "UID SORT (REVERSE DATE) UTF-8 ALL", Detail: "no SORT capability"})
		return nil
	}
	return b.timed("UID SORT (REVERSE DATE) UTF-8 ALL", func() (string, error) {
		uids, err := b.c.UIDSort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
			SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate, Reverse: true}}}).Wait()
		return fmt.Sprintf("%d messages", len(uids)), err
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
