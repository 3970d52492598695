package imap

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/netlimit"
	"mailserver/internal/store"
)

// Append implements imapserver.Session (RFC 3501 6.3.11, UIDPLUS APPENDUID RFC 4315, APPENDLIMIT RFC 7889). The
// message is parsed once here; FETCH and SEARCH later use what was stored. OK is sent only after the commit. An
// APPEND to a shared mailbox needs the write right and counts against that mailbox's quota, not the session's.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	limit := int64(s.srv.appendLimit)
	if r.Size() > limit {
		return nil, errTooBig // the library checks this before reading; kept for safety
	}
	_, mb, err := s.lookupTarget("append", mailbox)
	if err != nil {
		return nil, err
	}
	raw, release, err := s.srv.memory.ReadAll(r, limit)
	defer release()
	if errors.Is(err, netlimit.ErrMemoryBusy) {
		return nil, errMemoryBusy // the library reads and drops the rest of the literal
	}
	if err != nil {
		return nil, fmt.Errorf("read APPEND literal: %w", err) // the connection is broken; the library logs it
	}
	if int64(len(raw)) > limit {
		return nil, errTooBig
	}
	p := message.Parse(raw)
	msg := store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: options.Time}
	placed, err := s.srv.store.Append(mb.ID, msg, flagStrings(options.Flags), s.origin())
	if err != nil {
		return nil, s.targetError("append", err)
	}
	return &imap.AppendData{UID: imap.UID(placed.UID), UIDValidity: placed.UIDValidity}, nil
}
