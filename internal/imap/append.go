package imap

import (
	"errors"
	"fmt"
	"io"

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
	raw, release, err := s.readMessage(r)
	defer release()
	if err != nil {
		return nil, err
	}
	return s.appendMessage(mb, raw, options)
}

// readMessage reads an APPEND's message within the memory budget and the APPEND limit; release gives the memory
// back.
func (s *session) readMessage(r io.Reader) (raw []byte, release func(), err error) {
	limit := int64(s.srv.appendLimit)
	raw, release, err = s.srv.memory.ReadAll(r, limit)
	var imapErr *imap.Error
	switch {
	case errors.Is(err, netlimit.ErrMemoryBusy):
		return nil, release, errMemoryBusy // the library reads and drops the rest of the literal
	case errors.As(err, &imapErr):
		return nil, release, err
	case err != nil:
		return nil, release, fmt.Errorf("read APPEND literal: %w", err) // the connection is broken; the library logs it
	case int64(len(raw)) > limit:
		return nil, release, errTooBig
	}
	return raw, release, nil
}

// appendMessage parses raw once and stores it in mb; FETCH and SEARCH later use what was stored.
func (s *session) appendMessage(mb store.Mailbox, raw []byte, options *imap.AppendOptions) (*imap.AppendData, error) {
	p := message.Parse(raw)
	msg := store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: options.Time}
	placed, err := s.srv.store.Append(mb.ID, msg, flagStrings(options.Flags), s.origin())
	if err != nil {
		return nil, s.targetError("append", err)
	}
	return &imap.AppendData{UID: imap.UID(placed.UID), UIDValidity: placed.UIDValidity}, nil
}
