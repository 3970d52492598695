package imap

import (
	"slices"
	"sort"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// hub keeps one mailboxState per mailbox that at least one session has selected and feeds it the store's
// committed changes.
//
// Lock order: the store's announcement lock (held around its subscribers) → hub.mu → mailboxState.mu → the
// library's tracker mutexes. Nothing here calls the store or writes to a socket while holding hub.mu or
// mailboxState.mu.
type hub struct {
	mu       sync.Mutex
	boxes    map[uint64]*mailboxState         // guarded by mu
	sessions map[uint64]map[*session]struct{} // logged-in sessions by account id; guarded by mu

	notify notifyRegistry // sessions with NOTIFY on (notify.go)
	sorts  *sortBudget    // the sort cache entries of every mailbox (sortcache.go)
}

func newHub() *hub {
	return &hub{boxes: map[uint64]*mailboxState{}, sessions: map[uint64]map[*session]struct{}{}, sorts: &sortBudget{}}
}

// loggedIn and loggedOut track who is logged in, so that disabling or removing an account ends its sessions.
func (h *hub) loggedIn(s *session, accountID uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[accountID] == nil {
		h.sessions[accountID] = map[*session]struct{}{}
	}
	h.sessions[accountID][s] = struct{}{}
}

func (h *hub) loggedOut(s *session, accountID uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions[accountID], s)
	if len(h.sessions[accountID]) == 0 {
		delete(h.sessions, accountID)
	}
}

// revokeShared ends the sessions of an account that have a folder of a shared mailbox selected whose grant was
// just taken away: without it, a client in IDLE would go on receiving that folder's updates. The check and the
// close run on another goroutine, as the listener must not block or take a session's locks.
func (h *hub) revokeShared(accountID, sharedID uint64) {
	h.mu.Lock()
	var sessions []*session
	for s := range h.sessions[accountID] {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	if len(sessions) == 0 {
		return
	}
	go func() {
		for _, s := range sessions {
			s.selMu.Lock()
			sel := s.sel
			s.selMu.Unlock()
			if sel != nil && sel.mailbox.AccountID == sharedID {
				s.ending("grant on the selected shared mailbox revoked")
				s.conn.NetConn().Close()
			}
		}
	}()
}

// revoke closes the connections of an account that was disabled or removed. It runs in the store's listener, so
// the closing happens on other goroutines: a socket close can block, and the listener must not.
func (h *hub) revoke(accountID uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions[accountID] {
		s.ending("account disabled or removed")
		go s.conn.NetConn().Close()
	}
}

// mailboxState is the server's view of one selected mailbox: its UIDs in order (sequence number n is uids[n-1])
// and the library's MailboxTracker, whose message count always equals len(uids). Both change together, under mu,
// in store commit order, which is what makes a shrinking EXISTS or an out-of-range EXPUNGE impossible.
//
// A state is created by the first session about to select the mailbox (hub.join), before that session reads its
// snapshot, and loaded from the snapshot once read (load): changes announced meanwhile wait in pending, and those
// committed after the snapshot are applied on top of it (the store's commit sequence tells which).
type mailboxState struct {
	id uint64 // immutable
	// tracker is set by load, under mu, and immutable after: only a loaded state has selections.
	tracker *imapserver.MailboxTracker

	mu      sync.Mutex
	pending []store.Change        // guarded by mu; changes announced before the state was loaded
	base    uint64                // guarded by mu; the commit of the snapshot the state was loaded from
	applied uint64                // guarded by mu; the last commit uids holds (base or later)
	uids    []uint32              // guarded by mu
	deleted bool                  // guarded by mu; the mailbox itself is gone
	waiters map[*selection]func() // guarded by mu; sessions in IDLE, with their wake-ups; nil until one idles
	refs    int                   // guarded by hub.mu

	liveSels map[*selection]struct{} // guarded by mu; selections with live searches (searchcontext.go)

	// keywords is the mailbox's keyword list as last committed; recentOwner the read-write selection new arrivals
	// are \Recent in, if any, and recentMark the highest UID that was recent in some selection of this state
	// (recent.go). Guarded by mu.
	keywords    []string
	recentOwner *selection
	recentMark  uint32

	sorts  map[uint32]*sortEntry // guarded by mu; the sort cache, by UID (sortcache.go)
	budget *sortBudget           // the server's, which sorts count against
}

// selection is one session's selected mailbox.
type selection struct {
	state    *mailboxState              // immutable
	tracker  *imapserver.SessionTracker // immutable
	mailbox  store.Mailbox              // as it was at SELECT; immutable
	ref      mailboxRef                 // whose mailbox, by which name, with the rights at SELECT; immutable
	examined bool                       // opened with EXAMINE; immutable
	// canWrite: the session may change the mailbox (STORE, EXPUNGE, MOVE out, implicit \Seen): not EXAMINE, and
	// for a shared mailbox the write right as session.selected last read it. Used by the session goroutine only.
	canWrite  bool
	searchRes imap.UIDSet    // SEARCHRES ($); used by the session goroutine only
	resync    *resyncRequest // SELECT's QRESYNC parameter until Resync answers it; the session goroutine only

	// live are the searches kept up to date (CONTEXT=SEARCH), liveDirty the UIDs they must evaluate again; both
	// guarded by state.mu.
	live      []*liveSearch
	liveDirty map[uint32]struct{}
	// notifiedUpTo is the last UID NOTIFY's MessageNew has fetched for (notify.go); 0: none since SELECT. Used by
	// the goroutine that polls.
	notifiedUpTo uint32
	// announced holds the keywords (lower case) this session's client has been shown in a FLAGS response; used by
	// the session goroutine only.
	announced map[string]string // lower case → spelling shown
	recent    recentWindow      // the UIDs \Recent in this session; immutable
	// announcedRecent is the size and RECENT count the client was last sent; used by the session goroutine only.
	announcedRecent recentShown
}

// readOnlyError is why the mailbox cannot be changed now, or nil.
func (sel *selection) readOnlyError() error {
	switch {
	case sel.examined:
		return errReadOnly
	case !sel.canWrite:
		return errNoPermission
	}
	return nil
}

// join registers a session about to select mailbox id, before it reads the mailbox's snapshot, so that the
// changes committed from then on reach the mailbox's state; leave (or detach, once attached) undoes it.
func (h *hub) join(id uint64) *mailboxState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.boxes[id]
	if st == nil {
		st = &mailboxState{id: id, budget: h.sorts}
		h.boxes[id] = st
	}
	st.refs++
	return st
}

// leave drops a registration of join; the last one removes the mailbox's state.
func (h *hub) leave(st *mailboxState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st.refs--
	if st.refs == 0 && h.boxes[st.id] == st {
		delete(h.boxes, st.id)
		st.mu.Lock()
		st.dropSortCacheLocked() // the last session left: the entries go back to the server's budget
		st.mu.Unlock()
	}
}

// mailboxView is what a session is shown at SELECT: the mailbox and its UIDs, as its tracker starts from them.
type mailboxView struct {
	mailbox store.Mailbox
	uids    []uint32
}

// selectRequest is how a session selects a mailbox (see attach).
type selectRequest struct {
	ref         mailboxRef
	examined    bool
	claimRecent bool
	claim       store.RecentClaim // what claimRecent claimed (store.ClaimRecent)
}

// attach selects a mailbox for one session from snap, read after the session joined st, if st (loaded from snap
// if it was not yet) holds the mailbox exactly as snap does: every change snap holds has been announced by the
// time the store returns it, so that is so unless st has applied a change committed after snap. Then it returns
// ok false, and the caller reads a fresh snapshot; with force, it attaches anyway, showing st's UIDs with UIDNEXT
// raised above them (HIGHESTMODSEQ may then be behind, which only makes a client ask for more).
func (st *mailboxState) attach(snap store.MailboxSnapshot, req selectRequest, force bool) (*selection, mailboxView, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tracker == nil {
		st.loadLocked(snap)
	}
	if st.applied > snap.Commit && !force {
		return nil, mailboxView{}, false
	}
	view := mailboxView{mailbox: snap.Mailbox, uids: slices.Clone(st.uids)}
	view.mailbox.Keywords = slices.Clone(st.keywords)
	if n := len(view.uids); n > 0 {
		view.mailbox.UIDNext = max(view.mailbox.UIDNext, view.uids[n-1]+1)
	}
	sel := &selection{state: st, tracker: st.tracker.NewSession(), mailbox: view.mailbox, ref: req.ref,
		examined: req.examined, canWrite: !req.examined && req.ref.canWrite(), announced: map[string]string{}}
	sel.markAnnounced(view.mailbox.Keywords)
	sel.tracker.SetMailboxFlagsFilter(sel.withAnnounced)
	window := recentWindow{above: snap.Mailbox.RecentUID, upTo: snap.Mailbox.UIDNext - 1}
	if req.claimRecent {
		window = recentWindow{above: req.claim.Above, upTo: req.claim.UpTo}
	}
	st.claimRecentLocked(sel, window, req.claimRecent)
	return sel, view, true
}

// isLoaded reports whether the state has been loaded from a snapshot: a SELECT that finds it so needs no UIDs
// in its own.
func (st *mailboxState) isLoaded() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.tracker != nil
}

// loadLocked fills a new state from the first snapshot read for it, then applies the changes announced since the
// state was created that the snapshot does not hold. st.mu is held.
func (st *mailboxState) loadLocked(snap store.MailboxSnapshot) {
	st.uids = snap.UIDs
	st.keywords = snap.Mailbox.Keywords
	st.base, st.applied = snap.Commit, snap.Commit
	st.tracker = imapserver.NewMailboxTracker(uint32(len(st.uids)))
	pending := st.pending
	st.pending = nil
	for _, c := range pending {
		st.applyLocked(c)
	}
}

// detach ends a selection; the last one removes the mailbox's state. It returns the recent mark to keep in the
// store when sel owned the arrivals (0 otherwise).
func (h *hub) detach(sel *selection) (recentMark uint32) {
	st := sel.state
	st.mu.Lock()
	delete(st.waiters, sel)
	delete(st.liveSels, sel)
	st.mu.Unlock()
	sel.tracker.Close()
	recentMark = st.releaseRecent(sel)

	h.leave(st)
	return recentMark
}

// onChange is the store's subscriber (Server.OnChange). It runs after each commit, in commit order, before the
// next commit, so it only does in-memory work: update the UID list, queue tracker updates, wake sessions in IDLE.
func (h *hub) onChange(c store.Change) {
	if c.AccountRevoked {
		h.revoke(c.AccountID)
		return
	}
	if c.SharedRevoked != 0 {
		h.revokeShared(c.AccountID, c.SharedRevoked)
		return
	}
	h.notify.record(c)
	h.mu.Lock()
	st := h.boxes[c.MailboxID]
	h.mu.Unlock()
	if st != nil {
		st.apply(c)
	}
}

func (st *mailboxState) apply(c store.Change) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tracker == nil { // a session is reading the snapshot to load the state from
		st.pending = append(st.pending, c)
		return
	}
	st.applyLocked(c)
}

// applyLocked applies a change to a loaded state, unless the snapshot it was loaded from holds it already.
// st.mu is held.
func (st *mailboxState) applyLocked(c store.Change) {
	if c.Commit <= st.base {
		return
	}
	st.applied = max(st.applied, c.Commit)
	st.expungeLocked(c.Expunged)
	if c.Keywords != nil {
		// Before the messages that carry them, so clients know the keyword when the FETCH arrives.
		st.keywords = c.Keywords
		st.tracker.QueueMailboxFlags(mailboxFlags(store.Mailbox{Keywords: c.Keywords}))
	}
	st.appendLocked(c.Appended)
	if len(c.Flags) > 0 {
		var source *imapserver.SessionTracker
		if sel, ok := c.Origin.(*selection); ok && sel.state == st {
			source = sel.tracker // that session writes its own FETCH FLAGS (or was asked for silence)
		}
		st.flagsLocked(c.Flags, source)
	}
	st.markLiveLocked(&c)
	if c.Deleted {
		st.deleted = true
	}
	for _, wake := range st.waiters {
		wake()
	}
}

// appendLocked adds new UIDs, one EXISTS update per message: the library's SessionTracker.EncodeSeqNum hides only
// the message whose arrival an update announces, so a single update for several messages would expose the others
// to the client before its EXISTS.
func (st *mailboxState) appendLocked(uids []uint32) {
	for _, uid := range uids {
		if n := len(st.uids); n > 0 && uid <= st.uids[n-1] {
			continue // UIDs only grow; anything else is a duplicate announcement
		}
		st.uids = append(st.uids, uid)
		st.noteArrivalLocked(uid)
		st.tracker.QueueNumMessages(uint32(len(st.uids)))
	}
}

// expungeLocked removes UIDs (ascending). Expunges are queued from the highest sequence number down, so each
// number is valid both before and after the ones queued earlier; unknown UIDs are skipped, so an EXPUNGE can never
// be out of range.
func (st *mailboxState) expungeLocked(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	var idx []int
	for _, uid := range uids {
		if i, ok := st.indexLocked(uid); ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	st.expungeLiveLocked(idx)
	st.forgetSortEntriesLocked(uids)
	for k := len(idx) - 1; k >= 0; k-- {
		st.tracker.QueueExpungeUID(uint32(idx[k]+1), imap.UID(st.uids[idx[k]]))
	}
	kept := st.uids[:0]
	next := 0
	for i, uid := range st.uids {
		if next < len(idx) && idx[next] == i {
			next++
			continue
		}
		kept = append(kept, uid)
	}
	st.uids = kept
}

// flagsLocked queues a FETCH FLAGS update for each changed message, for every session but source, all at once: a
// STORE 1:* changes every message, often in a mailbox no other session has selected. The store's flag lists go to
// the tracker as they are, not copied: they are shared and never written to.
func (st *mailboxState) flagsLocked(changes []store.FlagChange, source *imapserver.SessionTracker) {
	next := 0 // changes come in ascending UID order: each is usually found right after the one before
	st.tracker.QueueMessagesFlags(len(changes), func(i int) (imapserver.MessageFlags, bool) {
		fc := changes[i]
		at, ok := st.indexFromLocked(next, fc.UID)
		if !ok {
			return imapserver.MessageFlags{}, false
		}
		next = at + 1
		return imapserver.MessageFlags{SeqNum: uint32(at + 1), UID: imap.UID(fc.UID), Flags: asIMAPFlags(fc.Flags),
			ModSeq: fc.ModSeq}, true
	}, source)
}

// indexFromLocked is indexLocked trying the index hint first.
func (st *mailboxState) indexFromLocked(hint int, uid uint32) (int, bool) {
	if hint < len(st.uids) && st.uids[hint] == uid {
		return hint, true
	}
	return st.indexLocked(uid)
}

// indexLocked finds uid in the UID list.
func (st *mailboxState) indexLocked(uid uint32) (int, bool) {
	i := sort.Search(len(st.uids), func(i int) bool { return st.uids[i] >= uid })
	return i, i < len(st.uids) && st.uids[i] == uid
}

// currentKeywords is the mailbox's keyword list as last committed.
func (st *mailboxState) currentKeywords() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.keywords)
}

// isDeleted reports whether the mailbox was deleted while selected.
func (st *mailboxState) isDeleted() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.deleted
}

// wakeOnChange registers sel as idling: wake is called after each change, under mu, so it must not block.
func (st *mailboxState) wakeOnChange(sel *selection, wake func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.waiters == nil {
		st.waiters = map[*selection]func(){}
	}
	st.waiters[sel] = wake
}

// stopWaking undoes wakeOnChange: once it returns, sel's wake-up is not called again.
func (st *mailboxState) stopWaking(sel *selection) {
	st.mu.Lock()
	delete(st.waiters, sel)
	st.mu.Unlock()
}
