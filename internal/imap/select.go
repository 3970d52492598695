package imap

import (
	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// firstUnseenBatch is how many messages are read at a time when looking for the first unseen one.
const firstUnseenBatch = 512

// snapshotAttempts bounds the snapshots a SELECT reads to find one that matches the mailbox's live state; the
// second is rare already (a change to that mailbox committed between the snapshot and the attachment).
const snapshotAttempts = 4

// Select implements imapserver.Session for SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2). The session joins the
// mailbox's live state before it reads the mailbox's snapshot, in a read transaction that no delivery waits for,
// so the EXISTS it reports and the updates it then receives fit together exactly (see attach).
//
// A shared mailbox granted read-only is opened read-only whichever command opened it: SELECT answers [READ-ONLY]
// (RFC 9051 6.3.2, through SelectData.ReadOnly), PERMANENTFLAGS is empty, there is no STORE, EXPUNGE or MOVE out
// (NO [NOPERM]), no implicit \Seen, and CLOSE removes nothing.
func (s *session) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	s.unselect()
	ref, mb, err := s.lookup(name)
	if err != nil {
		return nil, s.storeError("select", err)
	}
	examined := options != nil && options.ReadOnly
	// Only a session that may change the mailbox claims its recent messages (RFC 3501 6.3.2: EXAMINE leaves
	// \Recent alone); one granted read-only access is in EXAMINE's place.
	req := selectRequest{ref: ref, examined: examined, claimRecent: !examined && ref.canWrite()}
	sel, view, err := s.attachMailbox(mb.ID, req)
	if err != nil {
		return nil, s.storeError("select", err)
	}
	s.setSelection(sel)
	mb, uids := view.mailbox, view.uids
	sel.announcedRecent = shownState(uids, sel)
	data := &imap.SelectData{
		Flags:       mailboxFlags(mb),
		NumMessages: uint32(len(uids)),
		NumRecent:   sel.announcedRecent.recent,
		UIDNext:     imap.UID(mb.UIDNext),
		UIDValidity: mb.UIDValidity,
		// Always sent, CONDSTORE enabled or not (RFC 7162 3.1.2.1)
		HighestModSeq: mb.HighestModSeq,
	}
	sel.resync = qresyncRequest(options, mb, uids)
	if sel.canWrite { // EXAMINE or read-only rights: nothing can be changed (RFC 3501 6.3.2)
		data.PermanentFlags = append(mailboxFlags(mb), imap.FlagWildcard)
	} else {
		data.ReadOnly = true
	}
	if mb.Unseen > 0 && !s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		if data.FirstUnseenSeqNum, err = s.firstUnseen(mb.ID, uids); err != nil {
			return nil, err
		}
	}
	if s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) { // RFC 9051 6.3.2: a LIST response with the mailbox name
		data.List = &imap.ListData{Mailbox: ref.clientName(mb.Name), Delim: store.Delimiter}
	}
	return data, nil
}

// attachMailbox joins the mailbox's live state, claims its recent messages if req says so, and attaches a
// selection from a snapshot that matches the state.
func (s *session) attachMailbox(mailboxID uint64, req selectRequest) (*selection, mailboxView, error) {
	st := s.srv.hub.join(mailboxID)
	sel, view, err := s.attachSnapshot(st, req)
	if err != nil {
		s.srv.hub.leave(st)
	}
	return sel, view, err
}

func (s *session) attachSnapshot(st *mailboxState, req selectRequest) (*selection, mailboxView, error) {
	if req.claimRecent {
		var err error
		if req.claim, err = s.srv.store.ClaimRecent(st.id); err != nil {
			return nil, mailboxView{}, err
		}
	}
	for attempt := 1; ; attempt++ {
		snap, err := s.srv.store.MailboxSnapshot(st.id, !st.isLoaded())
		if err != nil {
			return nil, mailboxView{}, err
		}
		if snap.Mailbox.NoSelect {
			return nil, mailboxView{}, errNotSelectable
		}
		if sel, view, ok := st.attach(snap, req, attempt == snapshotAttempts); ok {
			return sel, view, nil
		}
	}
}

// firstUnseen is the sequence number of the first message without \Seen (the IMAP4rev1 UNSEEN response code), or 0.
// uids is the mailbox as the SELECT reports it; a message expunged meanwhile is simply skipped.
func (s *session) firstUnseen(mailboxID uint64, uids []uint32) (uint32, error) {
	for start := 0; start < len(uids); start += firstUnseenBatch {
		batch := uids[start:min(start+firstUnseenBatch, len(uids))]
		msgs, err := s.srv.store.Messages(mailboxID, batch, store.FetchOptions{})
		if err != nil {
			return 0, s.storeError("select", err)
		}
		j := 0
		for i, uid := range batch {
			for j < len(msgs) && msgs[j].UID < uid {
				j++
			}
			if j < len(msgs) && msgs[j].UID == uid && !hasFlag(msgs[j].Flags, imap.FlagSeen) {
				return uint32(start + i + 1), nil
			}
		}
	}
	return 0, nil
}

// Unselect implements imapserver.Session for UNSELECT and CLOSE (after CLOSE's expunge, see Expunge).
func (s *session) Unselect() error {
	s.unselect()
	return nil
}
