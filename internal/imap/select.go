package imap

import (
	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

// firstUnseenBatch is how many messages are read at a time when looking for the first unseen one.
const firstUnseenBatch = 512

// Select implements imapserver.Session for SELECT and EXAMINE (RFC 3501 6.3.1, 6.3.2). The session joins the
// mailbox's live state inside store.WithSnapshot, so the EXISTS it reports and the updates it then receives fit
// together exactly.
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
	claimRecent := !examined && ref.canWrite()
	snapshot := s.srv.store.WithSnapshot
	if claimRecent {
		snapshot = s.srv.store.WithRecentSnapshot
	}
	var uids []uint32
	var sel *selection
	err = snapshot(mb.ID, func(snap store.Mailbox, current []uint32) error {
		if snap.NoSelect {
			return errNotSelectable
		}
		mb = snap
		uids = append([]uint32(nil), current...)
		sel = s.srv.hub.attach(snap, current, ref, examined, claimRecent)
		s.setSelection(sel)
		return nil
	})
	if err != nil {
		return nil, s.storeError("select", err)
	}
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
