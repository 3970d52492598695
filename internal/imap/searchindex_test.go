package imap

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// oracleWords is the vocabulary of the generated corpus: Vietnamese with and without diacritics, đ, numbers,
// addresses, punctuation and terms longer than the index's term cap.
var oracleWords = []string{"Báo", "cáo", "tháng", "Đề", "xuất", "kinh", "phí", "đồng", "DONG", "dong", "bao", "cao",
	"Kế", "hoạch", "năm", "2026", "12", "120", "3.5", "họp", "giao", "ban", "Sở", "Nội", "vụ", "công-văn", "số",
	"van.a@example.gov.vn", "binh@example.gov.vn", "x_y", "<tag>", "(Khẩn)", "ĐỢT", "Đợt", "tổng", "kết", "ket",
	"supercalifragilisticexpialidocious-antidisestablishmentarianism",
	"nguyễnvănanđặcbiệtdàihơnbamươihaibytecủachỉmộttừ", "a", "ab", "abc", "abcabcabc", "réunion", "Straße"}

var oraclePeople = []string{"Nguyễn Văn An <an@example.gov.vn>", "Trần Thị Bình <binh@example.gov.vn>",
	"\"Đặng, Công\" <cong.dang@so-noi-vu.gov.vn>", "vanthu@example.gov.vn", "Phòng <phong+1@example.gov.vn>"}

func oracleText(r *rand.Rand, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = oracleWords[r.IntN(len(oracleWords))]
	}
	return strings.Join(words, []string{" ", " ", " ", ", ", "\r\n", "  ", "."}[r.IntN(7)])
}

func oracleMessage(r *rand.Rand, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s, %s\r\n", oraclePeople[r.IntN(len(oraclePeople))],
		oraclePeople[r.IntN(len(oraclePeople))], oraclePeople[r.IntN(len(oraclePeople))])
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: Nhóm: %s;\r\n", oraclePeople[r.IntN(len(oraclePeople))])
	}
	if r.IntN(5) == 0 {
		fmt.Fprintf(&b, "Bcc: %s\r\n", oraclePeople[r.IntN(len(oraclePeople))])
	}
	fmt.Fprintf(&b, "Subject: %s %d\r\nX-Don-Vi: %s\r\nMIME-Version: 1.0\r\n", oracleText(r, 1+r.IntN(5)), n, oracleText(r, 2))
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", oracleText(r, 5+r.IntN(40)))
	return []byte(b.String())
}

// oracleNeedle is a needle a client might send: a word, a piece of one, or a piece of a message's text.
func oracleNeedle(r *rand.Rand, corpus [][]byte) string {
	switch r.IntN(8) {
	case 0:
		return oracleWords[r.IntN(len(oracleWords))]
	case 6, 7: // a prefix, suffix or infix of a word, long ones included
		word := []rune(oracleWords[r.IntN(len(oracleWords))])
		if r.IntN(2) == 0 { // the long words, indexed as windows, most often
			word = []rune(oracleWords[37+r.IntN(2)])
		}
		start := r.IntN(len(word))
		piece := word[start : start+1+r.IntN(len(word)-start)]
		if r.IntN(2) == 0 { // one that is not there, but nearly
			return string(piece) + "q"
		}
		return string(piece)
	case 1:
		return []string{"@", ".", "<", "gov.vn>", "an@", " ", "đ", "Đ", "ệ", "2", "", "nội vụ", "an <an"}[r.IntN(13)]
	default: // a piece of some message, of any length, from any place
		text := []rune(string(corpus[r.IntN(len(corpus))]))
		start := r.IntN(len(text))
		piece := string(text[start:min(len(text), start+1+r.IntN(24))])
		if strings.ContainsAny(piece, "\r\n") || !utf8.ValidString(piece) {
			return strings.Fields(piece + " x")[0]
		}
		return piece
	}
}

// oracleCriteria is a random SEARCH made of text keys, with NOT, OR and flags.
func oracleCriteria(r *rand.Rand, corpus [][]byte) *imap.SearchCriteria {
	key := func() imap.SearchCriteria {
		n := oracleNeedle(r, corpus)
		switch r.IntN(9) {
		case 0:
			return imap.SearchCriteria{Body: []string{n}}
		case 1, 2:
			return imap.SearchCriteria{Text: []string{n}}
		case 3:
			return headerKey("Subject", n)
		case 4:
			return headerKey("From", n)
		case 5:
			return headerKey("To", n)
		case 6:
			return headerKey("Cc", n)
		case 7:
			return headerKey("Bcc", n)
		default:
			return headerKey("X-Don-Vi", n)
		}
	}
	c := key()
	switch r.IntN(6) {
	case 0:
		return &imap.SearchCriteria{Not: []imap.SearchCriteria{c}}
	case 1:
		return &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{c, key()}}}
	case 2:
		other := key()
		c.Text, c.Body, c.Header = append(c.Text, other.Text...), append(c.Body, other.Body...), append(c.Header, other.Header...)
	case 3:
		c.Flag = []imap.Flag{imap.FlagSeen}
	}
	return &c
}

// compareWithOracle runs random searches with the index and without, and wants the same answers.
func compareWithOracle(t *testing.T, ts *testServer, c *imapclient.Client, r *rand.Rand, corpus [][]byte, phase string) {
	t.Helper()
	for range 200 {
		criteria := oracleCriteria(r, corpus)
		options := &imap.SearchOptions{ReturnAll: true, ReturnCount: true}
		ts.srv.noSearchIndex.Store(true)
		want, err := c.UIDSearch(criteria, options).Wait()
		ts.srv.noSearchIndex.Store(false)
		if err != nil {
			t.Fatalf("%s: oracle search %+v: %v", phase, criteria, err)
		}
		got, err := c.UIDSearch(criteria, options).Wait()
		if err != nil {
			t.Fatalf("%s: search %+v: %v", phase, criteria, err)
		}
		if !slices.Equal(got.AllUIDs(), want.AllUIDs()) || got.Count != want.Count {
			t.Errorf("%s: SEARCH %+v\n index: %v (%d)\n scan:  %v (%d)", phase, criteria, got.AllUIDs(), got.Count,
				want.AllUIDs(), want.Count)
		}
	}
}

func TestSearchIndexAnswersLikeTheMatcher(t *testing.T) {
	ts := newTestServer(t)
	r := rand.New(rand.NewPCG(13, 4))
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var corpus [][]byte
	add := func(n int) {
		var batch []store.AppendMessage
		for range n {
			raw := oracleMessage(r, len(corpus))
			corpus = append(corpus, raw)
			p := message.Parse(raw)
			var flags []string
			if r.IntN(2) == 0 {
				flags = []string{`\Seen`}
			}
			batch = append(batch, store.AppendMessage{Flags: flags, NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(),
				Text: p.SearchText(), InternalDate: time.Unix(1767225600, 0)}})
		}
		if _, err := ts.st.AppendMany(inbox.ID, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	add(200)
	c := ts.client(t, nil)
	selectBox(t, c, "INBOX", false)
	compareWithOracle(t, ts, c, r, corpus, "nothing indexed")

	indexAll(t, ts.st)
	compareWithOracle(t, ts, c, r, corpus, "all indexed")

	add(60) // an unindexed tail above the indexed messages
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	compareWithOracle(t, ts, c, r, corpus, "with a tail")

	// Expunge every third message and move some others away: their postings stay, stale.
	var del, move imap.UIDSet
	for uid := imap.UID(1); uid <= 260; uid++ {
		switch uid % 7 {
		case 0, 3:
			del.AddNum(uid)
		case 5:
			move.AddNum(uid)
		}
	}
	if err := c.Store(del, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(del).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Lưu trữ", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(move, "Lưu trữ").Wait(); err != nil {
		t.Fatal(err)
	}
	indexAll(t, ts.st)
	compareWithOracle(t, ts, c, r, corpus, "after expunges and moves")

	selectBox(t, c, "Lưu trữ", false)
	compareWithOracle(t, ts, c, r, corpus, "the moved messages")

	if err := ts.st.Reindex(ts.account.ID); err != nil {
		t.Fatal(err)
	}
	selectBox(t, c, "INBOX", false)
	compareWithOracle(t, ts, c, r, corpus, "after reindex")
}

func indexAll(t *testing.T, st *store.Store) {
	t.Helper()
	if _, err := st.IndexPending(); err != nil {
		t.Fatal(err)
	}
}
