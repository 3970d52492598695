package imap

import (
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// Expunge implements imapserver.Session for EXPUNGE, UID EXPUNGE (RFC 4315) and the expunge step of CLOSE.
//
// It writes no EXPUNGE response itself: the store's listener queues one for every session that has the mailbox
// selected, this one included, and the library flushes the queue before the tagged OK. Writing them here as well
// would report each expunge twice. Expunging in a shared mailbox needs the write right and is audited.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	// CLOSE calls Expunge with a writer that has no connection; on a mailbox opened read-only it must remove
	// nothing and still succeed (RFC 3501 6.4.2), and it still closes a shared mailbox whose grant was revoked.
	closing := *w == (imapserver.ExpungeWriter{})
	sel, err := s.selected()
	if err != nil {
		if closing && errors.Is(err, errAccessRevoked) {
			return nil
		}
		return err
	}
	if !sel.canWrite {
		if closing {
			return nil
		}
		return sel.readOnlyError()
	}
	var list []uint32 // nil: every message flagged \Deleted
	if uids != nil {
		if list = refUIDs(sel.resolve(*uids)); len(list) == 0 {
			return nil
		}
	}
	target := sel.ref.auditTarget(sel.mailbox.Name)
	st := s.auditedStore(sel.ref, func(chs []store.Change) *store.AuditRecord {
		removed := expungedFrom(chs, sel.mailbox.ID)
		if len(removed) == 0 {
			return nil
		}
		r := s.record(auditExpunge, target, auditMessages(removed))
		return &r
	})
	if _, err := st.Expunge(sel.mailbox.ID, list, sel); err != nil {
		return s.storeError("expunge", err)
	}
	return nil
}
