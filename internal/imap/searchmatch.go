package imap

import (
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// searchQuery is imap.SearchCriteria made static for one mailbox view: sequence and UID sets (including "$" and
// "*") resolved to UIDs, dates reduced to days, strings folded.
type searchQuery struct {
	sets                  [][]uint32 // each: the UIDs a sequence or UID set names, ascending
	since, before         time.Time  // internal date, as days
	sentSince, sentBefore time.Time  // Date header, as days
	headers               []headerQuery
	body, text            [][]byte // folded
	// bodyIndex and textIndex are the search index's answers for body and text, where it gave one (useIndex).
	bodyIndex, textIndex []*store.IndexAnswer
	flags, notFlags      []imap.Flag
	larger, smaller      int64
	modSeq               uint64 // MODSEQ: at least this (RFC 7162 3.1.5)
	not                  []*searchQuery
	or                   [][2]*searchQuery
}

type headerQuery struct {
	field    string             // canonical case-insensitively: "From", "Subject", …
	value    string             // folded; "" matches any message that has the field
	envelope bool               // answered from the stored envelope
	index    *store.IndexAnswer // the search index's answer for an envelope key, if it gave one
}

// envelopeFields are the HEADER keys answered from the stored envelope instead of the raw header.
var envelopeFields = map[string]string{"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "subject": "Subject"}

// foldNeedle folds a search string (message.FoldNeedle: text that is not UTF-8 matches no message).
func foldNeedle(s string) string { return message.FoldNeedle(s) }

func compileSearch(sel *selection, c *imap.SearchCriteria) *searchQuery {
	q := &searchQuery{
		since: day(c.Since), before: day(c.Before), sentSince: day(c.SentSince), sentBefore: day(c.SentBefore),
		flags: c.Flag, notFlags: c.NotFlag, larger: c.Larger, smaller: c.Smaller,
	}
	if c.ModSeq != nil {
		q.modSeq = c.ModSeq.ModSeq
	}
	// resolve lists in sequence order, which is UID order too.
	for _, set := range c.SeqNum {
		q.sets = append(q.sets, refUIDs(sel.resolve(set)))
	}
	for _, set := range c.UID {
		q.sets = append(q.sets, refUIDs(sel.resolve(set)))
	}
	for _, h := range c.Header {
		hq := headerQuery{field: h.Key, value: foldNeedle(h.Value)}
		// An empty string asks whether the field is there at all, whatever its value (RFC 9051 6.4.4): the header
		// block answers that, the envelope cannot (it shows a missing Subject as an empty one).
		if canon, ok := envelopeFields[strings.ToLower(h.Key)]; ok && h.Value != "" {
			hq.field, hq.envelope = canon, true
		}
		q.headers = append(q.headers, hq)
	}
	for _, b := range c.Body {
		q.body = append(q.body, []byte(foldNeedle(b)))
	}
	for _, t := range c.Text {
		q.text = append(q.text, []byte(foldNeedle(t)))
	}
	for i := range c.Not {
		q.not = append(q.not, compileSearch(sel, &c.Not[i]))
	}
	for _, pair := range c.Or {
		q.or = append(q.or, [2]*searchQuery{compileSearch(sel, &pair[0]), compileSearch(sel, &pair[1])})
	}
	return q
}

func uidMembers(refs []msgRef) map[uint32]bool {
	m := make(map[uint32]bool, len(refs))
	for _, r := range refs {
		m[r.uid] = true
	}
	return m
}

// day keeps the calendar date of t: SEARCH dates disregard time and time zone (RFC 3501 6.4.4).
func day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// prefilter drops the messages outside the top-level sets before anything is read from the store.
// Those that the search index rules out for a top-level key go too.
func (q *searchQuery) prefilter(refs []msgRef) []msgRef {
	if len(q.sets) == 0 && !q.indexed() {
		return refs
	}
	out := refs[:0]
	for _, r := range refs {
		if q.inSets(r.uid) && !q.indexRulesOut(r.uid) {
			out = append(out, r)
		}
	}
	return out
}

func (q *searchQuery) inSets(uid uint32) bool {
	for _, set := range q.sets {
		if _, ok := slices.BinarySearch(set, uid); !ok {
			return false
		}
	}
	return true
}

type searchNeed int

const (
	needMeta searchNeed = iota // envelope, Date header or raw header fields
	needText                   // folded body/text
)

// needs reports whether any key, nested ones included, reads the parse result or the search text of the message
// uid: not where the search index answers it.
func (q *searchQuery) needs(n searchNeed, uid uint32) bool {
	own := verifies(q.body, q.bodyIndex, uid) || verifies(q.text, q.textIndex, uid)
	if n == needMeta {
		own = !q.sentSince.IsZero() || !q.sentBefore.IsZero() ||
			slices.ContainsFunc(q.headers, func(h headerQuery) bool { return h.verifies(uid) })
	}
	if own {
		return true
	}
	for _, sub := range q.not {
		if sub.needs(n, uid) {
			return true
		}
	}
	for _, pair := range q.or {
		if pair[0].needs(n, uid) || pair[1].needs(n, uid) {
			return true
		}
	}
	return false
}

// match evaluates q, cheapest keys first.
func (q *searchQuery) match(m *searchMsg) (bool, error) {
	if !q.inSets(m.m.UID) || !q.matchEntry(m) {
		return false, nil
	}
	for _, h := range q.headers {
		if ok, err := m.matchHeader(h); err != nil || !ok {
			return false, err
		}
	}
	if !q.matchSent(m) || !q.matchText(m) {
		return false, nil
	}
	for _, sub := range q.not {
		if ok, err := sub.match(m); err != nil || ok {
			return false, err
		}
	}
	for _, pair := range q.or {
		ok, err := pair[0].match(m)
		if err == nil && !ok {
			ok, err = pair[1].match(m)
		}
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// matchEntry checks flags, size and internal date.
func (q *searchQuery) matchEntry(m *searchMsg) bool {
	for _, f := range q.flags {
		if !m.hasFlag(f) {
			return false
		}
	}
	for _, f := range q.notFlags {
		if m.hasFlag(f) {
			return false
		}
	}
	if q.larger > 0 && m.m.Size <= q.larger || q.smaller > 0 && m.m.Size >= q.smaller || m.m.ModSeq < q.modSeq {
		return false
	}
	return inDays(day(m.m.InternalDate), q.since, q.before)
}

func (q *searchQuery) matchSent(m *searchMsg) bool {
	if q.sentSince.IsZero() && q.sentBefore.IsZero() {
		return true
	}
	sent := m.m.InternalDate // no usable Date header: fall back to the arrival date
	if meta := m.meta(); meta != nil && !meta.Date.IsZero() {
		sent = meta.Date
	}
	return inDays(day(sent), q.sentSince, q.sentBefore)
}

func inDays(d, since, before time.Time) bool {
	return (since.IsZero() || !d.Before(since)) && (before.IsZero() || d.Before(before))
}

func (q *searchQuery) matchText(m *searchMsg) bool {
	if len(q.body) == 0 && len(q.text) == 0 {
		return true
	}
	_, body := message.SplitSearchText(m.m.Text)
	for i, b := range q.body {
		if !indexedContains(q.bodyIndex, i, m.m.UID, body, b) {
			return false
		}
	}
	for i, t := range q.text {
		if !indexedContains(q.textIndex, i, m.m.UID, m.m.Text, t) {
			return false
		}
	}
	return true
}

// indexedContains is bytes.Contains(text, needle) where the search index's answer (answers[i]) does not decide.
func indexedContains(answers []*store.IndexAnswer, i int, uid uint32, text, needle []byte) bool {
	var a *store.IndexAnswer
	if i < len(answers) {
		a = answers[i]
	}
	return a.Matches(uid, text, needle)
}
