package imap

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/message"
	"mailserver/internal/netlimit"
	"mailserver/internal/store"
)

// maxAppendMessages bounds the messages of one APPEND command (MULTIAPPEND): each is held in memory until the
// command ends, and its entry and change are built in one store transaction.
const maxAppendMessages = 1000

// Append implements imapserver.Session. The library sends every APPEND through BeginAppend (SessionMultiAppend);
// this is the same for one message.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	a, err := s.BeginAppend(mailbox)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if err := a.Add(r, options); err != nil {
		return nil, err
	}
	return a.Commit()
}

// BeginAppend implements imapserver.SessionMultiAppend: APPEND of one message or several (RFC 3501 6.3.11,
// MULTIAPPEND RFC 3502, UIDPLUS APPENDUID RFC 4315, APPENDLIMIT RFC 7889). The messages are parsed once as they
// arrive and stored together in one transaction when the command ends, so a command that fails in the middle (a
// refused message, the quota, a disconnect) stores nothing. An APPEND to a shared mailbox needs the write right and
// counts against that mailbox's quota, not the session's.
func (s *session) BeginAppend(mailbox string) (imapserver.Appender, error) {
	_, mb, err := s.lookupTarget("append", mailbox)
	if err != nil {
		return nil, err
	}
	// An account already full is refused before the client uploads anything (RFC 9208 section 4.3); otherwise
	// the quota is checked at the commit, for the total.
	owner, err := s.srv.store.AccountByID(mb.AccountID)
	if err != nil {
		return nil, s.storeError("append", err)
	}
	if owner.Quota > 0 && owner.Used >= owner.Quota {
		return nil, errOverQuota
	}
	return &appender{s: s, mailboxID: mb.ID}, nil
}

var _ imapserver.AppenderCatenate = (*appender)(nil)

// appender holds the messages of one APPEND command until Commit. The whole command is bounded by the append
// limit, as one message is: every message stays in memory until the command ends.
type appender struct {
	s         *session
	mailboxID uint64
	msgs      []store.AppendMessage
	size      int64    // bytes of msgs
	releases  []func() // give back the memory budget msgs hold
}

// Add implements imapserver.Appender: it reads and parses one message.
func (a *appender) Add(r imap.LiteralReader, options *imap.AppendOptions) error {
	limit := int64(a.s.srv.appendLimit)
	if r.Size() > limit {
		return errTooBig // the library checks this before reading; kept for safety
	}
	if r.Size() > limit-a.size {
		return errAppendTooLarge
	}
	return a.add(r, options)
}

// AddCatenate implements imapserver.AppenderCatenate: one message of the command made of the client's text parts
// and what its IMAP URLs name (CATENATE, RFC 4469), bounded like any other.
func (a *appender) AddCatenate(parts *imapserver.CatenateReader, options *imap.AppendOptions) error {
	return a.add(&catenation{s: a.s, parts: parts}, options)
}

// add reads one message within the memory budget and what is left of the command's append limit, and parses it.
func (a *appender) add(r io.Reader, options *imap.AppendOptions) error {
	if len(a.msgs) == maxAppendMessages {
		return errTooManyAppended
	}
	room := int64(a.s.srv.appendLimit) - a.size
	raw, release, err := a.s.srv.memory.ReadAll(r, room)
	a.releases = append(a.releases, release)
	var imapErr *imap.Error
	switch {
	case errors.Is(err, netlimit.ErrMemoryBusy):
		return errMemoryBusy // the library reads and drops the rest of the literal
	case errors.As(err, &imapErr):
		return err // a CATENATE URL refused
	case err != nil:
		return fmt.Errorf("read APPEND literal: %w", err) // the connection is broken; the library logs it
	case int64(len(raw)) > room:
		return errAppendTooLarge
	}
	p := message.Parse(raw)
	a.msgs = append(a.msgs, store.AppendMessage{
		NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: options.Time},
		Flags:      flagStrings(options.Flags),
	})
	a.size += int64(len(raw))
	return nil
}

// Commit implements imapserver.Appender: one store transaction for every message, the quota checked for their
// total. OK is sent only after the commit, and the memory is given back before it.
func (a *appender) Commit() (*imap.AppendData, error) {
	defer a.Close()
	if len(a.msgs) == 0 {
		return nil, a.s.internalError("append", errors.New("APPEND committed without a message"))
	}
	placed, err := a.s.srv.store.AppendMany(a.mailboxID, a.msgs, a.s.origin())
	if err != nil {
		return nil, a.s.targetError("append", err)
	}
	data := &imap.AppendData{UID: imap.UID(placed[0].UID), UIDValidity: placed[0].UIDValidity}
	if len(placed) > 1 {
		for _, p := range placed {
			data.UIDs.AddNum(imap.UID(p.UID))
		}
	}
	return data, nil
}

// Close implements imapserver.Appender: it drops the messages and gives back their memory. It may be called again.
func (a *appender) Close() error {
	for _, release := range a.releases {
		release()
	}
	a.msgs, a.releases = nil, nil
	return nil
}
