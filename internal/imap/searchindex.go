package imap

import (
	"mailserver/internal/store"
)

// envelopeSearchKeys are the store's search index keys of the header keys answered from the envelope.
var envelopeSearchKeys = map[string]store.SearchKey{"Subject": store.SearchSubject, "From": store.SearchFrom,
	"To": store.SearchTo, "Cc": store.SearchCc, "Bcc": store.SearchBcc}

// useIndex asks the store's search index about every BODY, TEXT and envelope key of q, nested ones included. The
// answers hold for the life of the query, a live search's too (RFC 5267): a message's text never changes, and a
// message that arrives later is above the answer's bound, where the key is compared with its text.
func (s *session) useIndex(sel *selection, q *searchQuery) error {
	if s.srv.noSearchIndex.Load() {
		return nil
	}
	lookup := func(key store.SearchKey, needle []byte) (*store.IndexAnswer, error) {
		ans, err := s.srv.store.SearchIndex(sel.mailbox.ID, key, needle)
		if err != nil {
			return nil, s.storeError("search", err)
		}
		return &ans, nil
	}
	var err error
	q.bodyIndex, q.textIndex = make([]*store.IndexAnswer, len(q.body)), make([]*store.IndexAnswer, len(q.text))
	for i, b := range q.body {
		if q.bodyIndex[i], err = lookup(store.SearchBody, b); err != nil {
			return err
		}
	}
	for i, t := range q.text {
		if q.textIndex[i], err = lookup(store.SearchText, t); err != nil {
			return err
		}
	}
	for i, h := range q.headers {
		if key, ok := envelopeSearchKeys[h.field]; ok && h.envelope {
			if q.headers[i].index, err = lookup(key, []byte(h.value)); err != nil {
				return err
			}
		}
	}
	for _, sub := range q.not {
		if err := s.useIndex(sel, sub); err != nil {
			return err
		}
	}
	for _, pair := range q.or {
		if err := s.useIndex(sel, pair[0]); err != nil {
			return err
		}
		if err := s.useIndex(sel, pair[1]); err != nil {
			return err
		}
	}
	return nil
}

// indexed tells whether the index answers some top-level key of q.
func (q *searchQuery) indexed() bool {
	return q.narrowestAnswer() != nil
}

// narrowestAnswer is the index answer of a top-level key of q that leaves the fewest indexed messages; nil if the
// index answers none.
func (q *searchQuery) narrowestAnswer() *store.IndexAnswer {
	var best *store.IndexAnswer
	consider := func(a *store.IndexAnswer) {
		if a != nil && a.Bound > 0 && (best == nil || len(a.Sure)+len(a.Maybe) < len(best.Sure)+len(best.Maybe)) {
			best = a
		}
	}
	for _, answers := range [][]*store.IndexAnswer{q.bodyIndex, q.textIndex} {
		for _, a := range answers {
			consider(a)
		}
	}
	for _, h := range q.headers {
		consider(h.index)
	}
	return best
}

// searchCandidatesLocked lists the messages the client knows that q may match, ascending, without those its sets
// or the index rule out. When the index answers a top-level key, only the messages its narrowest answer leaves and
// the unindexed tail are looked at, each found by binary search in the selection's UIDs: the cost follows the
// answer, not the mailbox (a word in 1% of 100,000 messages is 1,000 lookups, not 100,000 sequence numbers).
func (sel *selection) searchCandidatesLocked(q *searchQuery) []msgRef {
	a := q.narrowestAnswer()
	if a == nil {
		return q.prefilter(sel.visibleLocked())
	}
	n, _ := sel.lastVisibleLocked()
	uids := sel.state.uids[:n]
	positions := a.CandidatePositions(uids)
	refs := make([]msgRef, 0, len(positions))
	for _, i := range positions {
		if c := sel.tracker.EncodeSeqNum(uint32(i + 1)); c != 0 {
			refs = append(refs, msgRef{uid: uids[i], seq: c})
		}
	}
	return q.prefilter(refs)
}

// indexRulesOut tells whether the index says some top-level key of q does not match the message uid.
func (q *searchQuery) indexRulesOut(uid uint32) bool {
	for _, answers := range [][]*store.IndexAnswer{q.bodyIndex, q.textIndex} {
		for _, a := range answers {
			if a != nil && a.Verdict(uid) == store.IndexNoMatch {
				return true
			}
		}
	}
	for _, h := range q.headers {
		if h.index != nil && h.index.Verdict(uid) == store.IndexNoMatch {
			return true
		}
	}
	return false
}

// verdictOf is what answers[i] says of the message uid; without an answer, the text decides.
func verdictOf(answers []*store.IndexAnswer, i int, uid uint32) store.IndexVerdict {
	if i >= len(answers) || answers[i] == nil {
		return store.IndexVerify
	}
	return answers[i].Verdict(uid)
}

// verifies tells whether one of the needles must be compared with the message's text.
func verifies(needles [][]byte, answers []*store.IndexAnswer, uid uint32) bool {
	for i := range needles {
		if verdictOf(answers, i, uid) == store.IndexVerify {
			return true
		}
	}
	return false
}

// verifies tells whether the key needs the message's parse result: every key the index does not decide does.
func (h headerQuery) verifies(uid uint32) bool {
	return h.index == nil || h.index.Verdict(uid) == store.IndexVerify
}
