package imap

import (
	"cmp"
	"reflect"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/message"
)

// SORT (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267; the library writes its ESEARCH response). Each
// command takes the sort records of the matching messages (store.EachSortRecord: sent date, base subject, first
// addresses and display names, computed at delivery) from the selected mailbox's cache, reading those it lacks in
// one read transaction (sortcache.go), and sorts them in memory.
//
// Collation. RFC 5256 requires at least i;ascii-casemap. Strings compare first by their collation key
// (message.Collate: message.Fold, which folds case, Vietnamese diacritics and "Đ/đ" as SEARCH does, then ASCII
// letters in upper case), so "Đề nghị" sorts among the D's and "Báo cáo" next to "Bao cao"; keys equal, then by
// the text itself under i;ascii-casemap, so that the order is total and "Đề" and "De" do not interleave; then by
// sequence number (RFC 5256 section 3). Both comparisons see ASCII letters in upper case, as i;ascii-casemap
// does, so on ASCII text the order is exactly i;ascii-casemap's ("[x]" and "_" after the letters; Fold only
// collapses blanks, which base subjects have collapsed already). COMPARATOR (RFC 5255) is not offered.

// sortMsg is one message as SORT and THREAD compare it.
type sortMsg struct {
	ref msgRef
	*sortEntry
}

// Sort implements imapserver.SessionSort.
func (s *session) Sort(kind imapserver.NumKind, criteria []imap.SortCriterion, search *imap.SearchCriteria) ([]uint32, error) {
	msgs, err := s.sortMsgs(search)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(msgs, sortComparator(criteria))
	nums := make([]uint32, len(msgs))
	for i, m := range msgs {
		nums[i] = m.num(kind)
	}
	return nums, nil
}

func (m *sortMsg) num(kind imapserver.NumKind) uint32 {
	if kind == imapserver.NumKindUID {
		return m.ref.uid
	}
	return m.ref.seq
}

// sortMsgs loads the messages of the selected mailbox that match search, in sequence order, with their sort
// records (sortcache.go).
func (s *session) sortMsgs(search *imap.SearchCriteria) ([]*sortMsg, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	refs, err := s.matching(sel, search)
	if err != nil {
		return nil, err
	}
	entries, err := s.sortEntries(sel, refs)
	if err != nil {
		return nil, err
	}
	backing := make([]sortMsg, 0, len(refs)) // one allocation for all, not one per message
	msgs := make([]*sortMsg, 0, len(refs))
	for i, e := range entries {
		if e == nil {
			continue // expunged meanwhile
		}
		backing = append(backing, sortMsg{ref: refs[i], sortEntry: e})
		msgs = append(msgs, &backing[len(backing)-1])
	}
	return msgs, nil
}

// matching lists the messages that match search, in sequence order: without running a search for ALL.
func (s *session) matching(sel *selection, search *imap.SearchCriteria) ([]msgRef, error) {
	if keys, sets := countSearchKeys(search); keys > maxSearchKeys || sets > maxSearchSets {
		return nil, errTooManyKeys
	}
	if reflect.ValueOf(*search).IsZero() {
		sel.state.mu.Lock()
		defer sel.state.mu.Unlock()
		return sel.visibleLocked(), nil
	}
	q := compileSearch(sel, search)
	if err := s.useIndex(sel, q); err != nil {
		return nil, err
	}
	sel.state.mu.Lock()
	candidates := sel.searchCandidatesLocked(q)
	sel.state.mu.Unlock()
	return s.runSearch(sel, q, candidates)
}

// decodeSortRecord decodes a stored sort record; a missing or damaged one sorts as a message without headers.
func (s *session) decodeSortRecord(uid uint32, record []byte) *message.SortRecord {
	if record == nil {
		return &message.SortRecord{}
	}
	rec, err := message.DecodeSortRecord(record)
	if err != nil {
		s.log.Warn("unreadable sort record", "uid", uid, "err", err)
		return &message.SortRecord{}
	}
	return rec
}

// sortComparator orders by each criterion in turn, then by sequence number (RFC 5256 section 3).
func sortComparator(criteria []imap.SortCriterion) func(a, b *sortMsg) int {
	keys := make([]func(a, b *sortMsg) int, len(criteria))
	for i, c := range criteria {
		keys[i] = keyComparator(c.Key)
		if c.Reverse {
			compare := keys[i]
			keys[i] = func(a, b *sortMsg) int { return compare(b, a) }
		}
	}
	return func(a, b *sortMsg) int {
		for _, compare := range keys {
			if r := compare(a, b); r != 0 {
				return r
			}
		}
		return cmp.Compare(a.ref.seq, b.ref.seq)
	}
}

// collatedFields are the string sort keys and where the sort record holds them.
var collatedFields = map[imap.SortKey]func(*message.SortRecord) message.Collated{
	imap.SortKeySubject:     func(r *message.SortRecord) message.Collated { return r.Subject },
	imap.SortKeyFrom:        func(r *message.SortRecord) message.Collated { return r.From },
	imap.SortKeyTo:          func(r *message.SortRecord) message.Collated { return r.To },
	imap.SortKeyCc:          func(r *message.SortRecord) message.Collated { return r.Cc },
	imap.SortKeyDisplayFrom: func(r *message.SortRecord) message.Collated { return r.DisplayFrom },
	imap.SortKeyDisplayTo:   func(r *message.SortRecord) message.Collated { return r.DisplayTo },
}

// keyComparator compares two messages by one sort key, ascending.
func keyComparator(key imap.SortKey) func(a, b *sortMsg) int {
	switch key {
	case imap.SortKeyArrival:
		return func(a, b *sortMsg) int { return a.arrival.Compare(b.arrival) }
	case imap.SortKeyDate:
		return func(a, b *sortMsg) int { return a.sent.Compare(b.sent) }
	case imap.SortKeySize:
		return func(a, b *sortMsg) int { return cmp.Compare(a.size, b.size) }
	}
	field, ok := collatedFields[key]
	if !ok {
		return func(a, b *sortMsg) int { return 0 } // the library passes only the keys above
	}
	return func(a, b *sortMsg) int { return compareCollated(field(a.rec), field(b.rec)) }
}

// compareCollated compares by collation key, then by text (see "Collation" above).
func compareCollated(a, b message.Collated) int {
	if r := strings.Compare(a.Key, b.Key); r != 0 {
		return r
	}
	return compareASCIICasemap(a.Text, b.Text)
}

// compareASCIICasemap is the i;ascii-casemap collation (RFC 4790 section 9.2): octets compared with ASCII
// letters mapped to upper case.
func compareASCIICasemap(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := upperASCII(a[i]), upperASCII(b[i])
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
