package imap

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// maxLiveSearches bounds the searches with RETURN (UPDATE) that one session keeps up to date: each re-evaluates
// every changed message at every poll. RFC 5267 section 4.3 lets the server decline more with NOUPDATE.
const maxLiveSearches = 5

// liveSearch is a SEARCH RETURN (UPDATE) kept up to date with ADDTO and REMOVEFROM (RFC 5267 section 4.3). Its
// result is guarded by the mailboxState's mu.
type liveSearch struct {
	tag    string             // immutable
	kind   imapserver.NumKind // immutable
	query  *searchQuery       // immutable
	result map[uint32]bool    // UIDs the client knows to be in the result
}

// SearchContext implements imapserver.SessionSearchContext: SEARCH with the return options of CONTEXT=SEARCH
// (RFC 5267): PARTIAL (section 4.4, and RFC 9394's negative ranges) and UPDATE.
func (s *session) SearchContext(tag string, kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	// A live search is kept from before the search runs, so that a change committed meanwhile is evaluated again
	// at the next poll. A window's updates would need positions in the whole result, which SEARCH does not keep.
	var live *liveSearch
	wantLive := options.ReturnUpdate && options.ReturnPartial == nil
	keepLive := func(sel *selection, q *searchQuery) {
		if wantLive {
			live = &liveSearch{tag: tag, kind: kind, query: q, result: map[uint32]bool{}}
			if !sel.state.addLiveSearch(sel, live) {
				live = nil
			}
		}
	}
	sel, matches, err := s.search(criteria, options, keepLive)
	if err != nil {
		if live != nil {
			sel.state.removeLiveSearch(sel, tag)
		}
		return nil, err
	}
	data := searchResult(kind, criteria, options, matches)
	if options.ReturnPartial != nil {
		data.Partial = &imap.SearchPartialData{
			Range: *options.ReturnPartial,
			Nums:  searchNums(kind, partialWindow(matches, *options.ReturnPartial)),
		}
	}
	if live != nil {
		sel.state.setLiveResult(live, matches)
	}
	data.UpdateRefused = options.ReturnUpdate && live == nil
	return data, nil
}

// partialWindow is the part of matches that PARTIAL r names: positions from 1, or from the end when negative.
func partialWindow(matches []msgRef, r imap.SearchPartialRange) []msgRef {
	n := int64(len(matches))
	first, last := int64(r.Start), int64(r.Stop)
	if first < 0 {
		first, last = n+1+last, n+1+first // -1 is the last match
	}
	first, last = max(first, 1), min(last, n)
	if first > last {
		return nil
	}
	return matches[first-1 : last]
}

// searchNums is refs as the client's numbers of kind, or nil if there are none.
func searchNums(kind imapserver.NumKind, refs []msgRef) imap.NumSet {
	if len(refs) == 0 {
		return nil
	}
	if kind == imapserver.NumKindUID {
		return uidSet(refUIDs(refs))
	}
	var set imap.SeqSet
	for _, r := range refs {
		set.AddNum(r.seq)
	}
	return set
}

// CancelSearchUpdate implements imapserver.SessionSearchContext (CANCELUPDATE, RFC 5267 section 4.3).
func (s *session) CancelSearchUpdate(tags []string) error {
	sel, err := s.selected()
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if !sel.state.removeLiveSearch(sel, tag) {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug,
				Text: fmt.Sprintf("No search with updates is tagged %q", tag)}
		}
	}
	return nil
}

// addLiveSearch keeps ls up to date for sel, unless sel already has maxLiveSearches.
func (st *mailboxState) addLiveSearch(sel *selection, ls *liveSearch) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(sel.live) >= maxLiveSearches {
		return false
	}
	sel.live = append(sel.live, ls)
	if st.liveSels == nil {
		st.liveSels = map[*selection]struct{}{}
	}
	st.liveSels[sel] = struct{}{}
	return true
}

// setLiveResult records the result a live search started with: its matches that have not been expunged since.
func (st *mailboxState) setLiveResult(ls *liveSearch, matches []msgRef) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range matches {
		if _, ok := st.indexLocked(r.uid); ok {
			ls.result[r.uid] = true
		}
	}
}

// removeLiveSearch ends the updates of sel's search tagged tag, reporting whether there was one.
func (st *mailboxState) removeLiveSearch(sel *selection, tag string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, ls := range sel.live {
		if ls.tag == tag {
			sel.live = append(sel.live[:i], sel.live[i+1:]...)
			if len(sel.live) == 0 {
				delete(st.liveSels, sel)
				sel.liveDirty = nil
			}
			return true
		}
	}
	return false
}

// markLiveLocked records messages that were added or whose flags changed, for the live searches to evaluate again
// at the next poll.
func (st *mailboxState) markLiveLocked(c *store.Change) {
	for sel := range st.liveSels {
		if sel.liveDirty == nil {
			sel.liveDirty = map[uint32]struct{}{}
		}
		for _, uid := range c.Appended {
			sel.liveDirty[uid] = struct{}{}
		}
		for _, fc := range c.Flags {
			sel.liveDirty[fc.UID] = struct{}{}
		}
	}
}

// expungeLiveLocked queues a REMOVEFROM for each live search that holds one of the messages about to be expunged
// (indexes into uids). It runs before their EXPUNGEs are queued, so the sequence numbers are still the client's
// when the REMOVEFROM is written, and the tracker's queue writes it before them.
func (st *mailboxState) expungeLiveLocked(expunged []int) {
	for sel := range st.liveSels {
		for _, ls := range sel.live {
			var gone []msgRef
			for _, i := range expunged {
				uid := st.uids[i]
				if !ls.result[uid] {
					continue
				}
				delete(ls.result, uid)
				// The REMOVEFROM is queued behind every update queued so far, expunges included: when it is
				// written the client's numbering is the mailbox's as it is now, not as EncodeSeqNum sees it
				// (which counts the expunges still queued, for a response written at once).
				gone = append(gone, msgRef{uid: uid, seq: uint32(i + 1)})
			}
			if nums := searchNums(ls.kind, gone); nums != nil {
				tag, kind := ls.tag, ls.kind
				sel.tracker.QueueWrite(func(w *imapserver.UpdateWriter) error {
					return w.WriteSearchUpdate(tag, kind, false, 0, nums)
				})
			}
		}
		for _, i := range expunged {
			delete(sel.liveDirty, st.uids[i])
		}
	}
}

// liveUpdate is what one poll tells the client about one live search.
type liveUpdate struct {
	ls             *liveSearch
	added, removed []msgRef
}

// pollLiveSearches evaluates the live searches again on the messages that changed since the last poll and writes
// their ADDTO and REMOVEFROM. It runs after the tracker's poll, on the goroutine that writes the session's updates,
// so the sequence numbers taken under the lock stay the client's until they are written.
func (s *session) pollLiveSearches(sel *selection, w *imapserver.UpdateWriter) error {
	st := sel.state
	st.mu.Lock()
	if len(sel.liveDirty) == 0 {
		st.mu.Unlock()
		return nil
	}
	searches := append([]*liveSearch(nil), sel.live...)
	changed := sel.takeDirtyLocked()
	st.mu.Unlock()

	verdicts := make([]map[uint32]bool, len(searches))
	for i, ls := range searches {
		matches, err := s.runSearch(sel, ls.query, ls.query.prefilter(changed))
		if err != nil {
			return err
		}
		verdicts[i] = uidMembers(matches)
	}

	st.mu.Lock()
	updates := sel.applyVerdictsLocked(searches, changed, verdicts)
	st.mu.Unlock()
	for _, u := range updates {
		if nums := searchNums(u.ls.kind, u.removed); nums != nil {
			if err := w.WriteSearchUpdate(u.ls.tag, u.ls.kind, false, 0, nums); err != nil {
				return err
			}
		}
		if nums := searchNums(u.ls.kind, u.added); nums != nil {
			if err := w.WriteSearchUpdate(u.ls.tag, u.ls.kind, true, 0, nums); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeDirtyLocked returns the changed messages the client knows about, ascending, and empties the set; those whose
// EXISTS it has not been sent yet stay for a later poll, and expunged ones are dropped.
func (sel *selection) takeDirtyLocked() []msgRef {
	st := sel.state
	var refs []msgRef
	for uid := range sel.liveDirty {
		i, ok := st.indexLocked(uid)
		if !ok {
			delete(sel.liveDirty, uid)
			continue
		}
		if seq := sel.tracker.EncodeSeqNum(uint32(i + 1)); seq != 0 {
			refs = append(refs, msgRef{uid: uid, seq: seq})
			delete(sel.liveDirty, uid)
		}
	}
	slices.SortFunc(refs, func(a, b msgRef) int { return cmp.Compare(a.uid, b.uid) })
	return refs
}

// applyVerdictsLocked updates each live search's result with whether each changed message now matches, skipping
// messages expunged since they were read (their REMOVEFROM is already queued) and searches cancelled meanwhile.
// The sequence numbers are taken again here, as they are now.
func (sel *selection) applyVerdictsLocked(searches []*liveSearch, changed []msgRef, verdicts []map[uint32]bool) []liveUpdate {
	st := sel.state
	var updates []liveUpdate
	for k, ls := range searches {
		if !slices.Contains(sel.live, ls) {
			continue
		}
		u := liveUpdate{ls: ls}
		for _, r := range changed {
			i, ok := st.indexLocked(r.uid)
			if !ok {
				continue
			}
			now := msgRef{uid: r.uid, seq: sel.tracker.EncodeSeqNum(uint32(i + 1))}
			switch match := verdicts[k][r.uid]; {
			case match && !ls.result[r.uid]:
				ls.result[r.uid] = true
				u.added = append(u.added, now)
			case !match && ls.result[r.uid]:
				delete(ls.result, r.uid)
				u.removed = append(u.removed, now)
			}
		}
		updates = append(updates, u)
	}
	return updates
}
