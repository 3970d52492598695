package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Expunge implements imapserver.Session for EXPUNGE, UID EXPUNGE (RFC 4315) and the expunge step of CLOSE.
//
// It writes no EXPUNGE response itself: the store's listener queues one for every session that has the mailbox
// selected, this one included, and the library flushes the queue before the tagged OK. Writing them here as well
// would report each expunge twice.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	sel, err := s.selected()
	if err != nil {
		return err
	}
	if sel.readOnly {
		// CLOSE calls Expunge with a writer that has no connection; on a mailbox opened with EXAMINE it must
		// remove nothing and still succeed (RFC 3501 6.4.2). An explicit EXPUNGE is refused.
		if *w == (imapserver.ExpungeWriter{}) {
			return nil
		}
		return errReadOnly
	}
	var list []uint32 // nil: every message flagged \Deleted
	if uids != nil {
		if list = refUIDs(sel.resolve(*uids)); len(list) == 0 {
			return nil
		}
	}
	_, err = s.srv.store.Expunge(sel.mailbox.ID, list, sel)
	return s.storeError("expunge", err)
}
