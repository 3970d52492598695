package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"
)

// deliveryDuringFetch delivers Deliveries messages to the user's INBOX, alone and then while another connection
// runs the metadata FETCH 1:* of that INBOX in a loop, and deletes what it delivered afterwards so that a rerun
// finds the mailbox as it was.
func (b *imapBench) deliveryDuringFetch(ctx context.Context, t target) error {
	if b.cfg.Mailbox != "INBOX" {
		return nil
	}
	sel, err := b.c.Select("INBOX", nil).Wait()
	if err != nil {
		return fmt.Errorf("SELECT INBOX: %w", err)
	}
	cfg := b.cfg.Delivery
	cfg.Recipients, cfg.PerMessage, cfg.Messages, cfg.Empty = []string{b.cfg.User}, 1, b.cfg.Deliveries, false
	if b.res.DeliveryAlone, err = runSMTP(ctx, t, cfg); err != nil {
		return fmt.Errorf("delivery alone: %w", err)
	}
	stop, fetchErr := b.fetchLoop(t)
	b.res.Delivery, err = runSMTP(ctx, t, cfg)
	stop()
	if err != nil {
		return fmt.Errorf("delivery during FETCH: %w", err)
	}
	if err := <-fetchErr; err != nil {
		return err
	}
	return b.deleteFrom(sel.UIDNext)
}

// fetchLoop runs the metadata FETCH 1:* of the INBOX on its own raw connection until stop is called (the go-imap
// client's parsing would take a core of its own from the server and the deliveries).
func (b *imapBench) fetchLoop(t target) (stop func(), errc chan error) {
	errc = make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := dialRawIMAP(t, b.cfg.TLS, b.cfg.User)
		if err == nil {
			defer c.Close()
			_, err = c.command("SELECT INBOX")
		}
		for i := 0; err == nil && i < 1<<20; i++ {
			select {
			case <-done:
				errc <- nil
				return
			default:
			}
			_, err = fetchAll(c, fetchMetadata)
		}
		errc <- fmt.Errorf("FETCH loop: %w", err)
	})
	return func() { close(done); wg.Wait() }, errc
}

// deleteFrom expunges the INBOX's messages from UID first on (those delivered by the run).
func (b *imapBench) deleteFrom(first imap.UID) error {
	if _, err := b.c.Select("INBOX", nil).Wait(); err != nil {
		return fmt.Errorf("SELECT INBOX: %w", err)
	}
	delivered := imap.UIDSet{imap.UIDRange{Start: first, Stop: 0}}
	flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := b.c.Store(delivered, flags, nil).Close(); err != nil {
		return fmt.Errorf("STORE \\Deleted on the delivered messages: %w", err)
	}
	if err := b.c.Expunge().Close(); err != nil {
		return fmt.Errorf("EXPUNGE the delivered messages: %w", err)
	}
	return nil
}
