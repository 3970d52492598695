package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// fillConfig is one fill of a mailbox.
type fillConfig struct {
	User, Mailbox string
	Messages      int
	Conns         int
	Size          int
	Seed          uint64
	TLS           tlsMode
	Empty         bool
	From          string
}

// fillResult is what a fill did. The mailbox's i-th message (from 0, counting what was there before) carries the
// markers when marked(i), so a mailbox filled only by fill has Marked messages with them.
type fillResult struct {
	Before, Appended int
	Bytes            int64
	Elapsed          time.Duration
	Marked           int // messages of the whole mailbox carrying the markers
}

// fillDates spaces the generated messages' dates a few minutes apart, ending now.
const fillDateStep = 7 * time.Minute

func runFill(ctx context.Context, t target, cfg fillConfig) (fillResult, error) {
	var res fillResult
	c, err := loginIMAP(t, cfg.TLS, cfg.User)
	if err != nil {
		return res, err
	}
	defer c.Close()
	if cfg.Empty {
		if err := emptyMailbox(c, cfg.Mailbox); err != nil {
			return res, err
		}
	}
	if res.Before, err = messageCount(c, cfg.Mailbox); err != nil {
		return res, err
	}
	f := &filler{cfg: cfg, base: res.Before, end: time.Now()}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Conns)
	for range max(cfg.Conns, 1) {
		wg.Go(func() { errs <- f.connection(ctx, t) })
	}
	wg.Wait()
	close(errs)
	res.Elapsed = time.Since(start)
	res.Appended, res.Bytes = int(f.appended.Load()), f.bytes.Load()
	res.Marked = markedCount(0, res.Before+res.Appended)
	for err := range errs {
		if err != nil {
			return res, err
		}
	}
	return res, c.Logout().Wait()
}

// filler hands out the messages of a fill to its connections.
type filler struct {
	cfg      fillConfig
	base     int // messages in the mailbox before
	end      time.Time
	next     atomic.Int64
	appended atomic.Int64
	bytes    atomic.Int64
}

// connection appends messages over its own connection until all are taken. The messages of a fill go in
// parallel, so their UIDs are not in the order of their numbers; the markers depend on the number only.
func (f *filler) connection(ctx context.Context, t target) error {
	c, err := loginIMAP(t, f.cfg.TLS, f.cfg.User)
	if err != nil {
		return err
	}
	defer c.Close()
	for ctx.Err() == nil {
		i := int(f.next.Add(1) - 1)
		if i >= f.cfg.Messages {
			return c.Logout().Wait()
		}
		n := f.base + i
		date := f.end.Add(-time.Duration(f.cfg.Messages-i) * fillDateStep)
		msg := generateMessage(messageSpec{Seed: f.cfg.Seed, Index: n, Size: f.cfg.Size, From: f.cfg.From,
			To: f.cfg.User, Marked: marked(n), Date: date})
		if err := appendMessage(c, f.cfg.Mailbox, msg, date); err != nil {
			return err
		}
		f.appended.Add(1)
		f.bytes.Add(int64(len(msg)))
	}
	return ctx.Err()
}

func appendMessage(c *imapclient.Client, mailbox string, msg []byte, date time.Time) error {
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Time: date})
	if _, err := cmd.Write(msg); err != nil {
		return fmt.Errorf("APPEND to %s: %w", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("APPEND to %s: %w", mailbox, err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("APPEND to %s: %w", mailbox, err)
	}
	return nil
}

func (r fillResult) report(w io.Writer, cfg fillConfig) {
	fmt.Fprintf(w, "fill %s %s: appended %d messages (%s) in %.1f s: %.0f msgs/s over %d connection(s); the mailbox now holds %d\n",
		cfg.User, cfg.Mailbox, r.Appended, mib(r.Bytes), r.Elapsed.Seconds(), rate(r.Appended, r.Elapsed), cfg.Conns, r.Before+r.Appended)
	fmt.Fprintf(w, "planted: %d messages carry %q in the body and %q in the subject (SEARCH hits expected if fill made the whole mailbox)\n",
		r.Marked, markerText, markerSubject)
}
