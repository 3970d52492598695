package imap

import (
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// Copy implements imapserver.Session for COPY and UID COPY, with COPYUID (RFC 4315). Bodies are shared, not copied.
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	dst, err := s.srv.store.Mailbox(s.accountID(), dest)
	if err != nil {
		return nil, s.targetError("copy", err)
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
// exactly once.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	sel, err := s.writable()
	if err != nil {
		return err
	}
	dst, err := s.srv.store.Mailbox(s.accountID(), dest)
	if err != nil {
		return s.targetError("move", err)
	}
	if dst.ID == sel.mailbox.ID {
		return errSameMailbox
	}
	refs := sel.resolve(numSet)
	if len(refs) == 0 {
		return nil
	}
	res, err := s.srv.store.Move(sel.mailbox.ID, refUIDs(refs), dst.ID, sel)
	if errors.Is(err, store.ErrInvalidName) {
		return errSameMailbox
	}
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
