package store

import (
	"bytes"
	"slices"
)

// Matches is what a says of whether the message uid's folded text contains needle (folded, message.FoldNeedle),
// comparing the two only where the index does not decide; a nil a (no index answer) always compares. IMAP's
// SEARCH BODY and TEXT and the webmail's search decide through it.
func (a *IndexAnswer) Matches(uid uint32, text, needle []byte) bool {
	if a != nil {
		switch a.Verdict(uid) {
		case IndexMatch:
			return true
		case IndexNoMatch:
			return false
		}
	}
	return bytes.Contains(text, needle)
}

// CandidatePositions lists the positions in live (a mailbox's UIDs, ascending) of the messages a may match: its
// candidates that are still there, then every message above Bound, which the index has not seen. The cost follows
// the answer, not the mailbox: each candidate is one binary search in live.
func (a *IndexAnswer) CandidatePositions(live []uint32) []int {
	candidates := a.Candidates()
	out := make([]int, 0, len(candidates))
	for _, uid := range candidates {
		if i, ok := slices.BinarySearch(live, uid); ok {
			out = append(out, i)
		}
	}
	tail, _ := slices.BinarySearch(live, a.Bound+1)
	for i := tail; i < len(live); i++ {
		out = append(out, i)
	}
	return out
}

// textSearchBatch is how many messages one read transaction of SearchText verifies: their folded texts are read
// in place, but a long read transaction keeps freed pages from reuse.
const textSearchBatch = 256

// SearchText lists the messages of the mailbox whose folded header and body text contains needle (folded,
// message.FoldNeedle), ascending: IMAP's SEARCH TEXT (RFC 9051 section 6.4.4) on its own, so "bao cao" finds
// "Báo cáo". The search index narrows the candidates; those it leaves undecided, and those it has not indexed yet,
// are compared with their stored text.
func (s *Store) SearchText(mailboxID uint64, needle []byte) ([]uint32, error) {
	live, err := s.UIDs(mailboxID)
	if err != nil {
		return nil, err
	}
	ans, err := s.SearchIndex(mailboxID, SearchText, needle)
	if err != nil {
		return nil, err
	}
	var matches, verify []uint32
	for _, i := range ans.CandidatePositions(live) {
		switch ans.Verdict(live[i]) {
		case IndexMatch:
			matches = append(matches, live[i])
		case IndexVerify:
			verify = append(verify, live[i])
		}
	}
	for start := 0; start < len(verify); start += textSearchBatch {
		batch := verify[start:min(start+textSearchBatch, len(verify))]
		_, err := s.ViewMessages(mailboxID, batch, FetchOptions{Text: true}, func(m *Message, _ *BodyView) (bool, error) {
			if bytes.Contains(m.Text, needle) {
				matches = append(matches, m.UID)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(matches)
	return matches, nil
}
