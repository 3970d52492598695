package imap

import (
	"cmp"
	"slices"
	"sort"

	"github.com/emersion/go-imap/v2"
)

// msgRef is a message the client knows: its UID and its sequence number in the client's view.
type msgRef struct {
	uid    uint32
	seq    uint32
	modSeq uint64 // set by SEARCH only
}

// refUIDs lists the UIDs of refs.
func refUIDs(refs []msgRef) []uint32 {
	out := make([]uint32, len(refs))
	for i, r := range refs {
		out[i] = r.uid
	}
	return out
}

// resolve turns a client's sequence set, UID set or "$" into the messages it names, ascending, without duplicates.
// Only messages the client has been told about count: those whose EXISTS is still queued are left out, messages
// expunged by another session but not yet reported are gone already. "*" is the client's last message (UID sets:
// its UID).
//
// The library's SessionTracker reads the mailbox's message count without its own lock, so every Encode/DecodeSeqNum
// call happens under the mailboxState lock that also guards the listener's updates.
func (sel *selection) resolve(set imap.NumSet) []msgRef {
	if imap.IsSearchRes(set) {
		set = sel.searchRes
	}
	st := sel.state
	st.mu.Lock()
	defer st.mu.Unlock()
	var refs []msgRef
	switch set := set.(type) {
	case imap.SeqSet:
		refs = sel.resolveSeqLocked(set)
	case imap.UIDSet:
		refs = sel.resolveUIDLocked(set)
	}
	slices.SortFunc(refs, func(a, b msgRef) int { return cmp.Compare(a.seq, b.seq) })
	return slices.CompactFunc(refs, func(a, b msgRef) bool { return a.seq == b.seq })
}

func (sel *selection) resolveSeqLocked(set imap.SeqSet) []msgRef {
	_, last := sel.lastVisibleLocked()
	var refs []msgRef
	for _, r := range set {
		start, stop := staticRange(r.Start, r.Stop, last)
		stop = min(stop, last) // numbers past the client's last message name nothing
		for c := max(start, 1); c <= stop; c++ {
			if s := sel.tracker.DecodeSeqNum(c); s != 0 {
				refs = append(refs, msgRef{uid: sel.state.uids[s-1], seq: c})
			}
		}
	}
	return refs
}

func (sel *selection) resolveUIDLocked(set imap.UIDSet) []msgRef {
	st := sel.state
	n, _ := sel.lastVisibleLocked()
	var maxUID uint32
	if n > 0 {
		maxUID = st.uids[n-1]
	}
	var refs []msgRef
	for _, r := range set {
		start, stop := staticRange(uint32(r.Start), uint32(r.Stop), maxUID)
		i := sort.Search(n, func(i int) bool { return st.uids[i] >= start })
		for ; i < n && st.uids[i] <= stop; i++ {
			if c := sel.tracker.EncodeSeqNum(uint32(i + 1)); c != 0 {
				refs = append(refs, msgRef{uid: st.uids[i], seq: c})
			}
		}
	}
	return refs
}

// visibleLocked lists every message the client knows (for SEARCH).
func (sel *selection) visibleLocked() []msgRef {
	n, _ := sel.lastVisibleLocked()
	refs := make([]msgRef, 0, n)
	for i := 0; i < n; i++ {
		if c := sel.tracker.EncodeSeqNum(uint32(i + 1)); c != 0 {
			refs = append(refs, msgRef{uid: sel.state.uids[i], seq: c})
		}
	}
	return refs
}

// lastVisibleLocked returns how many messages of the server's view the client knows about (those whose EXISTS is
// still queued are a suffix) and the client's sequence number of the last of them. Messages expunged at the end of
// the mailbox but not yet reported are not counted: they could not be fetched or changed anyway.
func (sel *selection) lastVisibleLocked() (n int, last uint32) {
	uids := sel.state.uids
	n = sort.Search(len(uids), func(i int) bool { return sel.tracker.EncodeSeqNum(uint32(i+1)) == 0 })
	if n == 0 {
		return 0, 0
	}
	return n, sel.tracker.EncodeSeqNum(uint32(n))
}

// staticRange replaces "*" (0) with max and orders the bounds (RFC 3501 9: "n:*" with n > max is "max:n").
func staticRange(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

// uidSet builds a compact UID set, keeping the order of uids meaningful for COPYUID.
func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}
