package store

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// SearchKey names the text a SEARCH needle is compared with (RFC 3501 6.4.4).
type SearchKey int

const (
	SearchText    SearchKey = iota + 1 // TEXT: header and body text
	SearchBody                         // BODY: body text
	SearchSubject                      // SUBJECT, and FROM, TO, CC, BCC: the envelope's texts
	SearchFrom
	SearchTo
	SearchCc
	SearchBcc
)

func (k SearchKey) fields() []indexField {
	switch k {
	case SearchText:
		return []indexField{fieldHeader, fieldBody}
	case SearchBody:
		return []indexField{fieldBody}
	case SearchSubject:
		return []indexField{fieldSubj}
	case SearchFrom:
		return []indexField{fieldFrom}
	case SearchTo:
		return []indexField{fieldTo}
	case SearchCc:
		return []indexField{fieldCc}
	case SearchBcc:
		return []indexField{fieldBcc}
	}
	return nil
}

// IndexAnswer is what the search index says of one needle in one mailbox. Messages with a UID above Bound are not
// in the index yet (the mailbox's unindexed tail): the caller compares the needle with their text. Of those up to
// Bound, the ones in Sure contain the needle, the ones in Maybe may (the caller verifies them) and every other one
// does not. Sure and Maybe are ascending and may hold UIDs expunged since: the caller keeps only its live ones.
type IndexAnswer struct {
	Bound       uint32
	Sure, Maybe []uint32
}

// IndexVerdict is what an IndexAnswer says of one message.
type IndexVerdict int

const (
	IndexNoMatch IndexVerdict = iota
	IndexMatch
	IndexVerify // not decided by the index: compare the needle with the message's text
)

// Verdict says what a answers for the message uid.
func (a *IndexAnswer) Verdict(uid uint32) IndexVerdict {
	switch {
	case uid > a.Bound:
		return IndexVerify
	case has(a.Sure, uid):
		return IndexMatch
	case has(a.Maybe, uid):
		return IndexVerify
	}
	return IndexNoMatch
}

// Candidates lists the UIDs up to Bound that a may match (Sure and Maybe), ascending: with the messages above Bound,
// every message the key can match.
func (a *IndexAnswer) Candidates() []uint32 {
	out := make([]uint32, 0, len(a.Sure)+len(a.Maybe))
	i, j := 0, 0
	for i < len(a.Sure) || j < len(a.Maybe) {
		if j == len(a.Maybe) || i < len(a.Sure) && a.Sure[i] < a.Maybe[j] {
			out = append(out, a.Sure[i])
			i++
		} else {
			out = append(out, a.Maybe[j])
			j++
		}
	}
	return out
}

func has(sorted []uint32, uid uint32) bool {
	_, ok := slices.BinarySearch(sorted, uid)
	return ok
}

// SearchIndex answers a folded needle (message.Fold) for key in the mailbox from the search index.
//
// How a word index keeps the substring semantics of SEARCH: text and needle are split into terms the same way
// (message.EachTerm). A needle that is one term, with no separator, occurs in a text exactly when it is a substring
// of one of the text's terms, so the answer is the union of the postings of every dictionary term that contains
// it (a scan of the dictionary with bytes.Index), exact, nothing to verify. Terms longer than maxTerm are indexed
// as overlapping windows: a needle of up to sureLen bytes lies inside one, a longer one is sure where a window holds
// it whole and to be verified where a long term's window holds its first sureLen bytes. A needle with separators
// ("bao cao", "van.a@exa") narrows the candidates to the messages that have, for each of its terms, a term that
// ends with the first, equals the middle ones and starts with the last (the needle's own separators say which
// ends are anchored), and the caller verifies them against the stored text. A needle without a word character says
// nothing to the index: Bound is 0, and every message is verified.
func (s *Store) SearchIndex(mailboxID uint64, key SearchKey, needle []byte) (IndexAnswer, error) {
	plan := planNeedle(needle)
	var ans IndexAnswer
	err := s.view(func(tx *bolt.Tx) error {
		st, err := getIndexState(tx, mailboxID)
		if err != nil || st.Dropping || st.IndexedUID == 0 || plan == nil {
			return err
		}
		ans.Bound = st.IndexedUID
		for _, f := range key.fields() {
			sure, maybe, err := plan.answer(tx, mailboxID, f)
			if err != nil {
				return fmt.Errorf("search index of mailbox #%d: %w", mailboxID, err)
			}
			ans.Sure, ans.Maybe = append(ans.Sure, sure...), append(ans.Maybe, maybe...)
		}
		return nil
	})
	if err != nil {
		return IndexAnswer{}, err
	}
	ans.Sure = sortedSet(ans.Sure)
	ans.Maybe = slices.DeleteFunc(sortedSet(ans.Maybe), func(u uint32) bool { return has(ans.Sure, u) })
	return ans, nil
}

func sortedSet(uids []uint32) []uint32 {
	slices.Sort(uids)
	return slices.Compact(uids)
}

// needlePlan is how a needle is looked up: one word, or terms with conditions.
type needlePlan struct {
	word  []byte     // the needle is this one term, nothing else
	conds []termCond // otherwise: every one must hold for some term of a matching message
}

// termCond is a condition on a dictionary term: it contains probe, at its start and/or its end if anchored so.
type termCond struct {
	probe          []byte
	atStart, atEnd bool
}

func planNeedle(needle []byte) *needlePlan {
	var terms []message.Term
	message.EachTerm(needle, func(t message.Term) { terms = append(terms, t) })
	switch {
	case len(terms) == 0:
		return nil
	case len(terms) == 1 && terms[0].AtStart && terms[0].AtEnd:
		return &needlePlan{word: needle}
	}
	p := &needlePlan{}
	for _, t := range terms {
		p.conds = append(p.conds, anchoredCond(t.Text, !t.AtStart, !t.AtEnd))
	}
	return p
}

// anchoredCond is the condition on the dictionary for a needle term that starts a text term (atStart) and/or ends
// one (atEnd). A long text term is indexed as windows, whose first holds its first minWindow bytes and whose last its
// last minWindow bytes; so past those lengths the condition only looks at that much of the needle term.
func anchoredCond(t []byte, atStart, atEnd bool) termCond {
	switch {
	case atStart && atEnd && len(t) <= maxTerm:
		return termCond{probe: t, atStart: true, atEnd: true}
	case atStart:
		return termCond{probe: t[:min(len(t), minWindow)], atStart: true}
	default:
		return termCond{probe: t[max(0, len(t)-minWindow):], atEnd: true}
	}
}

// answer evaluates the plan on one field of the mailbox's index: its postings and its recent segments.
func (p *needlePlan) answer(tx *bolt.Tx, mailboxID uint64, f indexField) (sure, maybe []uint32, err error) {
	postings := tx.Bucket(bucketPostings)
	dict := tx.Bucket(bucketIndexTerms)
	segs, err := fieldSegments(tx, mailboxID, f, 0)
	if err != nil {
		return nil, nil, err
	}
	// meeting calls fn with every term that meets c and a function appending its UIDs, from the postings and then
	// from each segment: a term may come more than once, and its UIDs with it.
	meeting := func(c termCond, fn func(term []byte, uids func([]uint32) ([]uint32, error)) error) error {
		if err := scanDictionary(dict, mailboxID, f, c, func(term []byte) error {
			return fn(term, func(out []uint32) ([]uint32, error) {
				return termPostings(postings, termPrefix(mailboxID, f, term), out)
			})
		}); err != nil {
			return err
		}
		for _, sg := range segs {
			if err := sg.scan(c, func(term []byte, i int) error {
				return fn(term, func(out []uint32) ([]uint32, error) { return sg.uids(i, out) })
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if p.word != nil {
		probe := p.word[:min(len(p.word), sureLen)]
		err = meeting(termCond{probe: probe}, func(term []byte, uids func([]uint32) ([]uint32, error)) error {
			var err error
			switch {
			case bytes.Contains(term, p.word):
				sure, err = uids(sure)
			case len(term) >= minWindow:
				maybe, err = uids(maybe)
			}
			return err
		})
		return sure, maybe, err
	}
	for i, c := range p.conds {
		var found []uint32
		err := meeting(c, func(_ []byte, uids func([]uint32) ([]uint32, error)) error {
			var err error
			found, err = uids(found)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		found = sortedSet(found)
		if i == 0 {
			maybe = found
		} else {
			maybe = intersect(maybe, found)
		}
		if len(maybe) == 0 {
			break
		}
	}
	return nil, maybe, nil
}

// intersect keeps the UIDs of a (ascending) that b (ascending) holds.
func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	j := 0
	for _, u := range a {
		for j < len(b) && b[j] < u {
			j++
		}
		if j < len(b) && b[j] == u {
			out = append(out, u)
		}
	}
	return out
}

// scanDictionary calls fn with every term of the mailbox's dictionary of field f that meets c, once each.
func scanDictionary(dict *bolt.Bucket, mailboxID uint64, f indexField, c termCond, fn func(term []byte) error) error {
	prefix := fieldPrefix(mailboxID, f)
	cur := dict.Cursor()
	for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
		if err := scanTerms(v, c, func(term []byte, _ int) error { return fn(term) }); err != nil {
			return fmt.Errorf("dictionary chunk %x: %w", k, err)
		}
	}
	return nil
}

// scanTerms calls fn with every term of v, NUL-separated terms (a dictionary chunk, a segment's terms), that meets
// c, with the offset in v where it starts. A condition is one bytes.Index pattern: NUL before the probe anchors it
// to a term's start, NUL after to its end.
func scanTerms(v []byte, c termCond, fn func(term []byte, start int) error) error {
	pattern := c.probe
	if c.atStart {
		pattern = append([]byte{0}, pattern...)
	}
	if c.atEnd {
		pattern = append(slices.Clip(pattern), 0)
	}
	for pos := 0; pos < len(v); {
		i := bytes.Index(v[pos:], pattern)
		if i < 0 {
			break
		}
		mid := pos + i
		if c.atStart {
			mid++
		}
		start := bytes.LastIndexByte(v[:mid], 0) + 1
		end := bytes.IndexByte(v[mid:], 0)
		if end < 0 {
			return fmt.Errorf("unterminated term")
		}
		end += mid
		if err := fn(v[start:end], start); err != nil {
			return err
		}
		pos = end
	}
	return nil
}
