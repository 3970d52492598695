package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// searchBatch is how many messages one store read covers during SEARCH; textSearchBatch when the folded text is
// loaded too, which may be up to 1 MiB a message, so that one SEARCH holds at most a few tens of MiB.
const (
	searchBatch     = 512
	textSearchBatch = 32
)

// Search implements imapserver.Session for SEARCH and UID SEARCH with every key of imap.SearchCriteria, ESEARCH
// return options (RFC 4731) and SEARCHRES (RFC 5182). Flags, dates and sizes come from the entries; FROM, TO, CC,
// BCC, SUBJECT and the sent date from the stored envelope; other HEADER keys from a byte-range read of the header;
// BODY and TEXT from the stored folded text, so "bao cao" finds "Báo cáo".
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	_, matches, err := s.search(criteria, options, nil)
	if err != nil {
		return nil, err
	}
	return searchResult(kind, criteria, options, matches), nil
}

// searchResult is the answer to a SEARCH that found matches: with the highest modseq among them when the
// criteria used MODSEQ (RFC 7162 3.1.5).
func searchResult(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions, matches []msgRef) *imap.SearchData {
	data := searchData(kind, matches)
	if hasModSeqKey(criteria) {
		data.ModSeq = resultModSeq(matches, options)
	}
	return data
}

// search runs a SEARCH on the selected mailbox and keeps its result for "$" if asked to. compiled, if not nil, is
// given the compiled query before it runs (CONTEXT=SEARCH's live searches, searchcontext.go).
func (s *session) search(criteria *imap.SearchCriteria, options *imap.SearchOptions, compiled func(*selection, *searchQuery)) (*selection, []msgRef, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, nil, err
	}
	if options.ReturnSave {
		sel.searchRes = nil // a failed SEARCH leaves $ empty (RFC 5182 2.1)
	}
	if keys, sets := countSearchKeys(criteria); keys > maxSearchKeys || sets > maxSearchSets {
		return nil, nil, errTooManyKeys
	}
	q := compileSearch(sel, criteria)
	if err := s.useIndex(sel, q); err != nil {
		return nil, nil, err
	}
	if compiled != nil {
		compiled(sel, q)
	}
	sel.state.mu.Lock()
	candidates := sel.searchCandidatesLocked(q)
	sel.state.mu.Unlock()
	matches, err := s.runSearch(sel, q, candidates)
	if err != nil {
		return nil, nil, err
	}
	if options.ReturnSave {
		sel.searchRes = savedResult(matches, options)
	}
	return sel, matches, nil
}

// runSearch evaluates q against candidates (ascending), in batches, loading the parse result and search text only
// for the messages where some key needs them.
func (s *session) runSearch(sel *selection, q *searchQuery, candidates []msgRef) ([]msgRef, error) {
	var matches []msgRef
	for start := 0; start < len(candidates); {
		batch, opts := nextSearchBatch(q, candidates[start:])
		start += len(batch)
		msgs, err := s.srv.store.Messages(sel.mailbox.ID, refUIDs(batch), opts)
		if err != nil {
			return nil, s.storeError("search", err)
		}
		next := 0 // msgs are the messages of batch that still exist, in its order
		for i := range msgs {
			for next < len(batch)-1 && batch[next].uid != msgs[i].UID {
				next++
			}
			m := &searchMsg{s: s, m: &msgs[i], seq: batch[next].seq, recent: sel.recent.has(msgs[i].UID)}
			ok, err := q.match(m)
			if err != nil {
				return nil, err
			}
			if ok {
				matches = append(matches, msgRef{uid: msgs[i].UID, seq: m.seq, modSeq: msgs[i].ModSeq})
			}
		}
	}
	return matches, nil
}

// nextSearchBatch is the first messages of candidates (not empty) that need the same data loaded, as many as one
// store read of that data covers.
func nextSearchBatch(q *searchQuery, candidates []msgRef) ([]msgRef, store.FetchOptions) {
	optsOf := func(uid uint32) store.FetchOptions {
		return store.FetchOptions{Meta: q.needs(needMeta, uid), Text: q.needs(needText, uid)}
	}
	opts := optsOf(candidates[0].uid)
	size := searchBatch
	if opts.Text {
		size = textSearchBatch
	}
	n := 1
	for n < len(candidates) && n < size && optsOf(candidates[n].uid) == opts {
		n++
	}
	return candidates[:n], opts
}

// searchData is the result as the library writes it: SEARCH, or ESEARCH with MIN, MAX, COUNT and ALL.
func searchData(kind imapserver.NumKind, matches []msgRef) *imap.SearchData {
	data := &imap.SearchData{Count: uint32(len(matches))}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for _, r := range matches {
		n := r.seq
		if kind == imapserver.NumKindUID {
			n = r.uid
			uids.AddNum(imap.UID(r.uid))
		} else {
			seqs.AddNum(r.seq)
		}
		if data.Min == 0 || n < data.Min {
			data.Min = n
		}
		data.Max = max(data.Max, n)
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	return data
}

// savedResult is what SAVE keeps for "$": the minimum and/or maximum when only MIN/MAX were asked for, otherwise
// every match (RFC 5182 2.1). It is kept as UIDs, so later expunges do not shift it.
func savedResult(matches []msgRef, o *imap.SearchOptions) imap.UIDSet {
	var set imap.UIDSet
	if len(matches) == 0 {
		return set
	}
	if !o.ReturnAll && !o.ReturnCount && (o.ReturnMin || o.ReturnMax) {
		if o.ReturnMin {
			set.AddNum(imap.UID(matches[0].uid))
		}
		if o.ReturnMax {
			set.AddNum(imap.UID(matches[len(matches)-1].uid))
		}
		return set
	}
	for _, r := range matches {
		set.AddNum(imap.UID(r.uid))
	}
	return set
}

// Bounds on one SEARCH. Every message set is resolved into a set of the mailbox's UIDs, and every text key is a
// scan of each message's text, so a short command repeating "1:*" or TEXT thousands of times would cost the
// mailbox's size that many times over. Clients send a few keys.
const (
	maxSearchKeys = 256
	maxSearchSets = 64
)

// countSearchKeys counts the keys of c, NOT and OR included, and among them the message sets.
func countSearchKeys(c *imap.SearchCriteria) (keys, sets int) {
	sets = len(c.SeqNum) + len(c.UID)
	keys = sets + len(c.Header) + len(c.Body) + len(c.Text) + len(c.Flag) + len(c.NotFlag)
	for i := range c.Not {
		k, s := countSearchKeys(&c.Not[i])
		keys, sets = keys+k, sets+s
	}
	for i := range c.Or {
		for j := range c.Or[i] {
			k, s := countSearchKeys(&c.Or[i][j])
			keys, sets = keys+k, sets+s
		}
	}
	return keys + len(c.Not) + len(c.Or), sets
}
