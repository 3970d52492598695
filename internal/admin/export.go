package admin

import (
	"errors"
	"fmt"
	"io"
	"time"

	"mailserver/internal/store"
)

// ExportBatchBytes bounds the message bytes one ExportRead hands out, so that memory stays bounded on both sides
// of the control socket whatever the mailbox holds.
const ExportBatchBytes = 8 << 20

// ExportFolder is one folder of an account being exported.
type ExportFolder struct {
	Name     string `json:"name"` // "/"-separated, as IMAP LIST shows it
	Messages int    `json:"messages"`
	Size     int64  `json:"size"`
}

// ExportMessage describes one message of a folder: what the export formats carry besides the bytes.
type ExportMessage struct {
	UID   uint32    `json:"uid"`
	Flags []string  `json:"flags,omitempty"`
	Date  time.Time `json:"date"` // INTERNALDATE
	Size  int64     `json:"size"` // RFC822.SIZE, the bytes ExportRead hands out
}

// ExportPiece is bytes [Offset, Offset+len(Data)) of the message UID, whose whole size is Size.
type ExportPiece struct {
	UID    uint32
	Offset int64
	Size   int64
	Data   []byte
}

// ExportFolders lists the folders of a user's or shared mailbox's account for an export, and records in the audit
// trail who exported it, how and where: handing someone's mail out is as sensitive as reading it.
func (s *Service) ExportFolders(addr, format, dir string) ([]ExportFolder, error) {
	a, err := s.exportAccount(addr)
	if err != nil {
		return nil, err
	}
	mbs, err := s.st.Mailboxes(a.ID)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("%s to %s", format, dir)
	if err := s.st.AddAudit(store.AuditRecord{Actor: s.actor, Action: "export", Target: a.Address, Detail: detail, From: auditFrom}); err != nil {
		return nil, fmt.Errorf("audit record of the export: %w", err)
	}
	out := make([]ExportFolder, 0, len(mbs))
	for _, mb := range mbs {
		if mb.NoSelect {
			continue
		}
		out = append(out, ExportFolder{Name: mb.Name, Messages: int(mb.Messages), Size: mb.Size})
	}
	return out, nil
}

// ExportMessages lists a folder's messages, ascending by UID.
func (s *Service) ExportMessages(addr, folder string) ([]ExportMessage, error) {
	mb, err := s.exportMailbox(addr, folder)
	if err != nil {
		return nil, err
	}
	uids, err := s.st.UIDs(mb.ID)
	if err != nil {
		return nil, err
	}
	msgs, err := s.st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]ExportMessage, len(msgs))
	for i, m := range msgs {
		out[i] = ExportMessage{UID: m.UID, Flags: m.Flags, Date: m.InternalDate, Size: m.Size}
	}
	return out, nil
}

// ExportRead hands out the bytes of the messages uids (ascending), the first from offset on, as IMAP FETCH
// BODY[] gives them (the per-recipient trace lines, then the body), at most ExportBatchBytes in all but at least
// one piece: a message larger than that comes in several calls. A message expunged meanwhile is left out.
func (s *Service) ExportRead(addr, folder string, uids []uint32, offset int64) ([]ExportPiece, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	mb, err := s.exportMailbox(addr, folder)
	if err != nil {
		return nil, err
	}
	msgs, err := s.st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		return nil, err
	}
	ids := make([]store.BodyID, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Body
	}
	present, release := s.st.PinBodies(ids) // chunks must not go while we read them outside a transaction
	defer release()
	var out []ExportPiece
	budget := int64(ExportBatchBytes)
	for i, m := range msgs {
		if budget <= 0 {
			break
		}
		if !present[i] {
			continue
		}
		start := int64(0)
		if m.UID == uids[0] {
			start = min(max(offset, 0), m.Size)
		}
		n := min(m.Size-start, budget)
		data, err := s.readMessage(m, start, n)
		if err != nil {
			return nil, fmt.Errorf("%s/%s uid %d: %w", addr, folder, m.UID, err)
		}
		out = append(out, ExportPiece{UID: m.UID, Offset: start, Size: m.Size, Data: data})
		budget -= max(n, 1) // an empty message still counts, so that the loop ends
	}
	return out, nil
}

// readMessage reads bytes [off, off+n) of the message's trace lines and body.
func (s *Service) readMessage(m store.Message, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	k := int64(0)
	if off < int64(len(m.Trace)) {
		k = int64(copy(buf, m.Trace[off:]))
	}
	if k == n {
		return buf, nil
	}
	bodyOff := off + k - int64(len(m.Trace))
	r := io.NewSectionReader(s.st.Body(m.Body, m.BodySize), bodyOff, n-k)
	if _, err := io.ReadFull(r, buf[k:]); err != nil {
		return nil, err
	}
	return buf, nil
}

// exportAccount finds the account of a user or shared mailbox.
func (s *Service) exportAccount(addr string) (store.Account, error) {
	clean, _, err := cleanAddress(addr)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.st.Account(clean)
	return a, userErr(clean, err)
}

// exportMailbox finds one folder of the account.
func (s *Service) exportMailbox(addr, folder string) (store.Mailbox, error) {
	a, err := s.exportAccount(addr)
	if err != nil {
		return store.Mailbox{}, err
	}
	mb, err := s.st.Mailbox(a.ID, folder)
	if errors.Is(err, store.ErrMailboxNotFound) {
		return mb, failf(ErrNotFound, "%s has no folder %q (deleted during the export?)", a.Address, folder)
	}
	return mb, err
}
