package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// pollInterval is how often a watcher asks STATUS while it waits for deliveries to show.
const pollInterval = 25 * time.Millisecond

// watcher follows one recipient's INBOX over its own IMAP connection: the end to end figure is the time until the
// server shows a client every message it accepted, not its SMTP reply (Postfix replies before Dovecot has the mail).
type watcher struct {
	address string
	c       *imapclient.Client
	base    int          // messages in the INBOX before the run
	want    atomic.Int64 // messages to wait for beyond base; -1 until the sending is over
	seen    int          // messages beyond base at the last poll
	at      time.Time    // when the last poll saw want reached
	err     error
}

// newWatcher logs in as address, empties its INBOX if asked, and counts what is there.
func newWatcher(t target, mode tlsMode, address string, empty bool) (*watcher, error) {
	c, err := loginIMAP(t, mode, address)
	if err != nil {
		return nil, err
	}
	w := &watcher{address: address, c: c}
	w.want.Store(-1)
	if empty {
		if err := emptyMailbox(c, "INBOX"); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", address, err)
		}
	}
	if w.base, err = messageCount(c, "INBOX"); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", address, err)
	}
	return w, nil
}

// poll asks STATUS until want messages beyond base are there, ctx ends, or a STATUS fails.
func (w *watcher) poll(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		n, err := messageCount(w.c, "INBOX")
		if err != nil {
			w.err = fmt.Errorf("%s: %w", w.address, err)
			return
		}
		w.seen = n - w.base
		if want := w.want.Load(); want >= 0 && int64(w.seen) >= want {
			w.at = time.Now()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// watchers is one watcher per recipient.
type watchers []*watcher

func openWatchers(t target, mode tlsMode, addresses []string, empty bool) (watchers, error) {
	var ws watchers
	for _, a := range addresses {
		w, err := newWatcher(t, mode, a, empty)
		if err != nil {
			ws.close()
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func (ws watchers) close() {
	for _, w := range ws {
		w.c.Logout().Wait()
		w.c.Close()
	}
}

// waitVisible tells each watcher how many messages to expect (by address), waits up to timeout for all of them
// and returns the time the last one saw its count. It returns an error naming what never showed.
func (ws watchers) waitVisible(p polling, expect map[string]int, timeout time.Duration) (time.Time, error) {
	for _, w := range ws {
		w.want.Store(int64(expect[w.address]))
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
	}
	p.cancel()
	<-p.done // the watchers' fields are read below
	var last time.Time
	var errs []error
	for _, w := range ws {
		switch {
		case w.err != nil:
			errs = append(errs, w.err)
		case w.at.IsZero():
			errs = append(errs, fmt.Errorf("%s: %d of %d messages visible after %v", w.address, w.seen, expect[w.address], timeout))
		case w.at.After(last):
			last = w.at
		}
	}
	return last, errors.Join(errs...)
}

// polling is the watchers' polls running: cancel stops them, done closes when all have returned.
type polling struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs every watcher's poll until it sees its messages or the polling is cancelled.
func (ws watchers) start(ctx context.Context) polling {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	finished := make(chan struct{}, len(ws))
	for _, w := range ws {
		go func() {
			w.poll(ctx)
			finished <- struct{}{}
		}()
	}
	go func() {
		for range ws {
			<-finished
		}
		close(done)
	}()
	return polling{cancel: cancel, done: done}
}
