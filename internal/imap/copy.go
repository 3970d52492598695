package imap

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// Copy implements imapserver.Session for COPY and UID COPY, with COPYUID (RFC 4315). Bodies are shared, not copied.
// Copying out of a shared mailbox needs only the read right; copying into one, the write right.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	_, dst, err := s.lookupTarget("copy", dest)
	if err != nil {
		return nil, err
	}
	refs := sel.resolve(numSet)
	if len(refs) == 0 {
		return nil, nil
	}
	res, err := s.srv.store.Copy(sel.mailbox.ID, refUIDs(refs), dst.ID, sel)
	if err != nil {
		return nil, s.targetError("copy", err)
	}
	return copyData(res), nil
}

// Move implements imapserver.SessionMove (RFC 6851): one store transaction copies and removes. The COPYUID goes
// out first; the EXPUNGE responses come from the listener's queue, flushed by the library before the tagged OK,
// exactly once. Moving out of a shared mailbox needs the write right on it and is audited.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	sel, err := s.writable()
	if err != nil {
		return err
	}
	dstRef, dst, err := s.lookupTarget("move", dest)
	if err != nil {
		return err
	}
	refs := sel.resolve(numSet)
	if len(refs) == 0 {
		return nil
	}
	target, to := sel.ref.auditTarget(sel.mailbox.Name), s.auditName(dstRef, dst.Name)
	st := s.auditedStore(sel.ref, func(chs []store.Change) *store.AuditRecord {
		moved := expungedFrom(chs, sel.mailbox.ID)
		if len(moved) == 0 {
			return nil
		}
		r := s.record(auditMove, target, fmt.Sprintf("%s to %s", auditMessages(moved), to))
		return &r
	})
	res, err := st.Move(sel.mailbox.ID, refUIDs(refs), dst.ID, sel)
	if err != nil {
		return s.targetError("move", err)
	}
	if data := copyData(res); data != nil {
		return w.WriteCopyData(data)
	}
	return nil
}

// copyData is the COPYUID data, or nil when nothing was copied (an empty UID set cannot be written).
func copyData(res store.CopyResult) *imap.CopyData {
	if len(res.Source) == 0 {
		return nil
	}
	return &imap.CopyData{UIDValidity: res.UIDValidity, SourceUIDs: uidSet(res.Source), DestUIDs: uidSet(res.Dest)}
}

// auditName names a mailbox in audit records as "<owner address>/<folder>", own mailboxes included.
func (s *session) auditName(ref mailboxRef, storeName string) string {
	if ref.isShared() {
		return ref.auditTarget(storeName)
	}
	return s.account.Address + string(store.Delimiter) + storeName
}
