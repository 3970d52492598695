package main

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// allUIDs is the UID set 1:*.
var allUIDs = imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}

// messageCount asks STATUS (MESSAGES) of a mailbox, which need not be selected.
func messageCount(c *imapclient.Client, mailbox string) (int, error) {
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("STATUS %s: %w", mailbox, err)
	}
	if st.NumMessages == nil {
		return 0, fmt.Errorf("STATUS %s: no MESSAGES in the reply", mailbox)
	}
	return int(*st.NumMessages), nil
}

// emptyMailbox deletes every message of a mailbox (STORE 1:* +FLAGS.SILENT (\Deleted), CLOSE).
func emptyMailbox(c *imapclient.Client, mailbox string) error {
	sel, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("SELECT %s: %w", mailbox, err)
	}
	if sel.NumMessages > 0 {
		flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := c.Store(allUIDs, flags, nil).Close(); err != nil {
			return fmt.Errorf("STORE \\Deleted in %s: %w", mailbox, err)
		}
	}
	// CLOSE expunges and leaves the mailbox: Dovecot answers STATUS of the selected mailbox from the session's
	// view, which a later STATUS poll would never see grow.
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		return fmt.Errorf("CLOSE %s: %w", mailbox, err)
	}
	return nil
}
