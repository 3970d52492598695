package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// CONDSTORE and QRESYNC (RFC 7162). Every change to a message gets a new modseq in the store, and every expunge
// one as well, kept in the mailbox's bounded expunge log (store.Expunged). The library parses the extensions and
// writes their responses; this file answers HIGHESTMODSEQ and the QRESYNC resynchronisation, and holds the helpers
// FETCH, STORE, SEARCH and UID FETCH (VANISHED) share.

var (
	_ imapserver.SessionCondStore = (*session)(nil)
	_ imapserver.SessionQResync   = (*session)(nil)
)

// resyncRequest is a SELECT's QRESYNC parameter with the mailbox as that SELECT reported it, for Resync.
type resyncRequest struct {
	param *imap.SelectQResync
	uids  []uint32 // the snapshot SELECT reported: sequence number n is uids[n-1]
}

// HighestModSeq implements imapserver.SessionCondStore: the selected mailbox's HIGHESTMODSEQ, reported when a
// FETCH, STORE or SEARCH first enables CONDSTORE.
func (s *session) HighestModSeq() (uint64, error) {
	sel, err := s.selected()
	if err != nil {
		return 0, err
	}
	mb, err := s.srv.store.MailboxByID(sel.mailbox.ID)
	if err != nil {
		return 0, s.storeError("highestmodseq", err)
	}
	return mb.HighestModSeq, nil
}

// sentFlags tells the session's tracker that the client got a message's flags as of modSeq, so that an older
// queued update of them is not written after (imapserver.SessionTracker.SentModSeq): a client would otherwise see
// its flags, and its MODSEQ, go back in time.
func (s *session) sentFlags(uid uint32, modSeq uint64) {
	if s.sel != nil {
		s.sel.tracker.SentModSeq(imap.UID(uid), modSeq)
	}
}

// qresyncRequest keeps the QRESYNC parameter of a SELECT for Resync, unless the client's cache belongs to another
// UIDVALIDITY, which makes it worthless: the client then gets no resynchronisation (RFC 7162 3.2.5.1).
func qresyncRequest(options *imap.SelectOptions, mb store.Mailbox, uids []uint32) *resyncRequest {
	if options == nil || options.QResync == nil || options.QResync.UIDValidity != mb.UIDValidity {
		return nil
	}
	return &resyncRequest{param: options.QResync, uids: uids}
}

// Resync implements imapserver.SessionQResync: after SELECT (QRESYNC ...), VANISHED (EARLIER) for the client's
// known UIDs that were expunged since its modseq, then a FETCH (UID FLAGS MODSEQ) for each message of the SELECT's
// snapshot (within the known UIDs) changed since then (RFC 7162 3.2.5.1). Sequence numbers are the snapshot's:
// nothing queued since has been written yet. A message changed after the snapshot may be reported twice, never
// missed.
func (s *session) Resync(w *imapserver.FetchWriter) error {
	sel, err := s.selected()
	if err != nil {
		return err
	}
	req := sel.resync
	sel.resync = nil
	if req == nil {
		return nil
	}
	known := req.param.KnownUIDs
	vanished, err := s.vanishedSince(sel.mailbox, req.param.ModSeq, known, req.uids)
	if err != nil {
		return err
	}
	if err := w.WriteVanishedEarlier(vanished); err != nil {
		return err
	}
	var refs []msgRef
	for i, uid := range req.uids {
		if known == nil || inUIDSet(known, uid, sel.mailbox.UIDNext) {
			refs = append(refs, msgRef{uid: uid, seq: uint32(i + 1)})
		}
	}
	opts := &imap.FetchOptions{UID: true, Flags: true, ModSeq: true, ChangedSince: req.param.ModSeq}
	return s.fetchRefs(w, sel, refs, newFetchPlan(opts, true))
}

// vanishedSince is what UID FETCH (CHANGEDSINCE m VANISHED) and SELECT (QRESYNC ...) report as VANISHED (EARLIER):
// the UIDs within the client's set (nil: all) expunged with a modseq above since. When the expunge log no longer
// reaches back that far, it is every UID of the set below UIDNEXT that is not in present (the mailbox's UIDs,
// ascending): longer, never wrong (RFC 7162 3.2.5.2, 3.2.6).
func (s *session) vanishedSince(mb store.Mailbox, since uint64, within imap.UIDSet, present []uint32) (imap.UIDSet, error) {
	logged, complete, err := s.srv.store.Expunged(mb.ID, since)
	if err != nil {
		return nil, s.storeError("vanished", err)
	}
	var out imap.UIDSet
	if complete {
		for _, uid := range logged {
			if within == nil || inUIDSet(within, uid, mb.UIDNext) {
				out.AddNum(imap.UID(uid))
			}
		}
		return out, nil
	}
	if within == nil {
		within = imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	}
	for _, r := range within {
		start, stop := staticRange(uint32(r.Start), uint32(r.Stop), mb.UIDNext-1)
		stop = min(stop, mb.UIDNext-1)
		addGaps(&out, start, stop, present)
	}
	return out, nil
}

// addGaps adds to out the UIDs from start to stop (inclusive) that are not in present (ascending).
func addGaps(out *imap.UIDSet, start, stop uint32, present []uint32) {
	if start == 0 {
		start = 1
	}
	next := start
	for _, uid := range present {
		if uid < next {
			continue
		}
		if uid > stop {
			break
		}
		if uid > next {
			out.AddRange(imap.UID(next), imap.UID(uid-1))
		}
		next = uid + 1
	}
	if next <= stop {
		out.AddRange(imap.UID(next), imap.UID(stop))
	}
}

// inUIDSet reports whether uid is in set, "*" standing for the highest UID given so far (UIDNEXT - 1).
func inUIDSet(set imap.UIDSet, uid, uidNext uint32) bool {
	for _, r := range set {
		start, stop := staticRange(uint32(r.Start), uint32(r.Stop), uidNext-1)
		if uid >= start && uid <= stop {
			return true
		}
	}
	return false
}

// changedSince keeps the messages whose modseq is above since (FETCH CHANGEDSINCE, RFC 7162 3.1.4.1); 0 keeps all.
func changedSince(msgs []store.Message, since uint64) []store.Message {
	if since == 0 {
		return msgs
	}
	kept := msgs[:0]
	for _, m := range msgs {
		if m.ModSeq > since {
			kept = append(kept, m)
		}
	}
	return kept
}

// writeVanishedForFetch answers the VANISHED modifier of UID FETCH: the UIDs of the requested set expunged since
// CHANGEDSINCE, before the FETCH responses (RFC 7162 3.2.6).
func (s *session) writeVanishedForFetch(w *imapserver.FetchWriter, sel *selection, numSet imap.NumSet, since uint64) error {
	set, ok := numSet.(imap.UIDSet)
	if !ok {
		return nil // the library allows VANISHED in UID FETCH only
	}
	mb, err := s.srv.store.MailboxByID(sel.mailbox.ID)
	if err != nil {
		return s.storeError("fetch", err)
	}
	sel.state.mu.Lock()
	present := append([]uint32(nil), sel.state.uids...)
	sel.state.mu.Unlock()
	vanished, err := s.vanishedSince(mb, since, set, present)
	if err != nil {
		return err
	}
	return w.WriteVanishedEarlier(vanished)
}

// hasModSeqKey reports whether a search uses MODSEQ anywhere, which puts the highest modseq of the result in the
// response (RFC 7162 3.1.5).
func hasModSeqKey(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if hasModSeqKey(&c.Not[i]) {
			return true
		}
	}
	for _, pair := range c.Or {
		if hasModSeqKey(&pair[0]) || hasModSeqKey(&pair[1]) {
			return true
		}
	}
	return false
}

// resultModSeq is the highest modseq among the messages a SEARCH returns: all matches, or only the minimum and
// maximum when ESEARCH asked for nothing else (RFC 7162 3.1.5, RFC 4731 3.2). 0 for no match.
func resultModSeq(matches []msgRef, o *imap.SearchOptions) uint64 {
	if len(matches) == 0 {
		return 0
	}
	returned := matches
	if !o.ReturnAll && !o.ReturnCount {
		returned = nil
		if o.ReturnMin {
			returned = append(returned, matches[0])
		}
		if o.ReturnMax {
			returned = append(returned, matches[len(matches)-1])
		}
	}
	var highest uint64
	for _, r := range returned {
		highest = max(highest, r.modSeq)
	}
	return highest
}

// modifiedSet is the MODIFIED response code's set for STORE UNCHANGEDSINCE: UIDs for UID STORE, else sequence
// numbers.
func modifiedSet(modified []uint32, refs []msgRef, withUID bool) imap.NumSet {
	if withUID {
		return uidSet(modified)
	}
	seqs := seqByUID(refs)
	var set imap.SeqSet
	for _, uid := range modified {
		set.AddNum(seqs[uid])
	}
	return set
}
