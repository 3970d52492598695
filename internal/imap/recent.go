package imap

import (
	"errors"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// \Recent (RFC 3501 2.3.2) marks a message in exactly one session: the first to select the mailbox read-write
// after the message arrived; IMAP4rev2 dropped it, so those sessions claim messages but never show the flag.
//
// How it is remembered: the store keeps one mark per mailbox, RecentUID, below which every message has been recent
// somewhere. A read-write SELECT raises it to the last UID in a small write that compares and raises inside its
// transaction (store.ClaimRecent), so two sessions can never claim the same message, and a restart forgets nothing.
// Messages arriving while sessions have the mailbox selected are recent for one of them, the owner: the first
// read-write session of the live state that had none. They are remembered in memory only (mailboxState.recentMark,
// counted in by later SELECTs and STATUS), because the store cannot know at delivery who holds the mailbox; the
// owner writes the mark to the store when it leaves the mailbox. A server stopped meanwhile shows those messages
// as recent once more, which is the harmless side to err on.

// flagRecent is \Recent, which the library no longer names (IMAP4rev2 dropped it).
const flagRecent imap.Flag = `\Recent`

// recentWindow is the UIDs recent in one session: above, up to upTo (math.MaxUint32 for the owner, for whom
// every later arrival is recent too).
type recentWindow struct{ above, upTo uint32 }

func (w recentWindow) has(uid uint32) bool { return uid > w.above && uid <= w.upTo }

// claimRecentLocked gives sel its recent window when it joins the live state: the UIDs of w that no session of
// the state has seen yet, and if it claims (read-write SELECT) while nobody owns the arrivals, those too. w is
// what the SELECT claimed in the store, or for EXAMINE what nobody has claimed yet. st.mu is held.
func (st *mailboxState) claimRecentLocked(sel *selection, w recentWindow, claim bool) {
	sel.recent = recentWindow{above: max(w.above, st.recentMark), upTo: w.upTo}
	if !claim {
		return
	}
	st.recentMark = max(st.recentMark, w.upTo)
	if st.recentOwner == nil {
		st.recentOwner = sel
		sel.recent.upTo = math.MaxUint32
	}
}

// noteArrivalLocked records a new message as seen by the owner, if there is one. st.mu is held.
func (st *mailboxState) noteArrivalLocked(uid uint32) {
	if st.recentOwner != nil {
		st.recentMark = max(st.recentMark, uid)
	}
}

// releaseRecent ends sel's ownership of arrivals, returning the mark to keep in the store (0: nothing to keep).
func (st *mailboxState) releaseRecent(sel *selection) uint32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.recentOwner != sel {
		return 0
	}
	st.recentOwner = nil
	return st.recentMark
}

// recentMark is the in-memory mark of a mailbox some session has selected, or 0.
func (h *hub) recentMark(mailboxID uint64) uint32 {
	h.mu.Lock()
	st := h.boxes[mailboxID]
	h.mu.Unlock()
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.recentMark
}

// keepRecentMark writes an owner's mark to the store as it leaves the mailbox; a mailbox deleted meanwhile needs
// none.
func (s *session) keepRecentMark(mailboxID uint64, mark uint32) {
	if mark == 0 {
		return
	}
	if err := s.srv.store.RaiseRecentUID(mailboxID, mark); err != nil && !errors.Is(err, store.ErrMailboxNotFound) {
		s.log.Error("keeping the recent mark", "mailbox", mailboxID, "err", err)
	}
}

// countRecent counts the UIDs (ascending) recent in sel: those in the window's range, found by two binary searches,
// as this runs after every command.
func (sel *selection) countRecent(uids []uint32) uint32 {
	from, _ := slices.BinarySearch(uids, sel.recent.above+1)
	to := len(uids)
	if sel.recent.upTo < math.MaxUint32 {
		to, _ = slices.BinarySearch(uids, sel.recent.upTo+1)
	}
	return uint32(max(to-from, 0))
}

// pollRecent sends an IMAP4rev1 client the RECENT count when messages arrived or left, or the count changed (RFC
// 3501 7.3.2), after the EXISTS and EXPUNGE responses of the poll. Only messages the client has been told about count.
func (s *session) pollRecent(w *imapserver.UpdateWriter, sel *selection) error {
	if s.conn.EnabledCaps().Has(imap.CapIMAP4rev2) {
		return nil
	}
	sel.state.mu.Lock()
	n, _ := sel.lastVisibleLocked()
	shown := shownState(sel.state.uids[:n], sel)
	sel.state.mu.Unlock()
	if shown == sel.announcedRecent {
		return nil
	}
	sel.announcedRecent = shown
	return w.WriteNumRecent(shown.recent)
}

// recentShown is what a client was last told: the mailbox's size, its last UID (a message expunged and one
// arriving leave the size alone), and its RECENT count.
type recentShown struct {
	messages int
	lastUID  uint32
	recent   uint32
}

// shownState is recentShown for the messages the client knows.
func shownState(uids []uint32, sel *selection) recentShown {
	shown := recentShown{messages: len(uids), recent: sel.countRecent(uids)}
	if len(uids) > 0 {
		shown.lastUID = uids[len(uids)-1]
	}
	return shown
}

// statusRecent is STATUS RECENT: the messages no session has seen as recent yet.
func (s *session) statusRecent(mb store.Mailbox) (uint32, error) {
	n, err := s.srv.store.CountUIDsAbove(mb.ID, max(mb.RecentUID, s.srv.hub.recentMark(mb.ID)))
	if err != nil {
		return 0, s.storeError("status", err)
	}
	return n, nil
}

// shownFlags are a message's flags as this session's FETCH shows them: with \Recent for an IMAP4rev1 client when
// the message is recent here. enabled is the client's enabled extensions, read once per command (reading them
// copies a map).
func shownFlags(sel *selection, enabled imap.CapSet, uid uint32, flags []string) []imap.Flag {
	if sel.recent.has(uid) && !enabled.Has(imap.CapIMAP4rev2) {
		return append(imapFlags(flags), flagRecent)
	}
	return asIMAPFlags(flags)
}

// asIMAPFlags is flags as a []imap.Flag (a string type) without a copy, for a response to write: STORE and FETCH
// over a whole mailbox would otherwise allocate a list per message.
func asIMAPFlags(flags []string) []imap.Flag {
	return unsafe.Slice((*imap.Flag)(unsafe.SliceData(flags)), len(flags))
}

// isRecentFlag reports whether f is \Recent, which only the server sets (SEARCH RECENT, NEW, OLD).
func isRecentFlag(f imap.Flag) bool { return strings.EqualFold(string(f), string(flagRecent)) }
