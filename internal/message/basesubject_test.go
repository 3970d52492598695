package message

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// RFC 5256 section 2.1's extraction, with the cases of imaptest's sort-subject script and Vietnamese subjects.
func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		subject, base string
		isReply       bool
	}{
		{"Báo cáo tháng 3", "Báo cáo tháng 3", false},
		{"Re: Báo cáo tháng 3", "Báo cáo tháng 3", true},
		{"RE:  Re:\tFwd: Đề nghị", "Đề nghị", true},
		{"Fw: x", "x", true},
		{"Đề nghị (fwd)", "Đề nghị", true},
		{"[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b", true},
		{"Re: [FWD: c]", "c", true},
		{"[xyz]", "[xyz]", false},
		{"[VP-UBND] Giấy mời", "Giấy mời", false},
		{"re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon", true},
		{"Ad: Re: Ad: Re: Ad: x", "Ad: Re: Ad: Re: Ad: x", false},
		{"Re [tag]: x", "x", true},
		{"Report: x", "Report: x", false},
		{"Fwd", "Fwd", false},
		{"  ", "", false},
		{"", "", false},
	} {
		base, isReply := BaseSubject(tc.subject)
		if base != tc.base || isReply != tc.isReply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.subject, base, isReply, tc.base, tc.isReply)
		}
	}
}

func TestSortRecordRoundTrip(t *testing.T) {
	raw := []byte("From: =?utf-8?q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?= <binh@hanoi.gov.vn>\r\n" +
		"To: chi@hanoi.gov.vn\r\nCc: Dung <dung@hanoi.gov.vn>, an@hanoi.gov.vn\r\n" +
		"Subject: Re: [VP] Đề nghị\r\nDate: Mon, 2 Mar 2026 08:00:00 +0700\r\nMessage-ID: <c@x>\r\n" +
		"In-Reply-To: <b@x>\r\nReferences: <a@x>\r\n <b@x>\r\n\r\nbody\r\n")
	p := Parse(raw)
	r, err := DecodeSortRecord(SortRecordOf(p.Meta(), raw))
	if err != nil {
		t.Fatal(err)
	}
	want := SortRecord{
		Date:    time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC),
		Subject: Collated{Key: "DE NGHI", Text: "Đề nghị"}, IsReply: true,
		From: Collated{Key: "BINH", Text: "binh"}, To: Collated{Key: "CHI", Text: "chi"},
		Cc:          Collated{Key: "DUNG", Text: "dung"},
		DisplayFrom: Collated{Key: "TRAN THI BINH", Text: "Trần Thị Bình"},
		DisplayTo:   Collated{Key: "CHI@HANOI.GOV.VN", Text: "chi@hanoi.gov.vn"},
		MessageID:   "c@x", References: []string{"a@x", "b@x"},
	}
	if !r.Date.Equal(want.Date) || r.Subject != want.Subject || r.IsReply != want.IsReply || r.From != want.From ||
		r.To != want.To || r.Cc != want.Cc || r.DisplayFrom != want.DisplayFrom || r.DisplayTo != want.DisplayTo ||
		r.MessageID != want.MessageID || len(r.References) != 2 || r.References[0] != "a@x" || r.References[1] != "b@x" {
		t.Errorf("record:\n got %+v\nwant %+v", *r, want)
	}
	// Without References, the first In-Reply-To id is the parent; without a Date, the date is zero.
	raw = []byte("Subject: x\r\nIn-Reply-To: <p@x> <q@x>\r\n\r\n")
	r, err = DecodeSortRecord(SortRecordOf(Parse(raw).Meta(), raw))
	if err != nil || len(r.References) != 1 || r.References[0] != "p@x" || !r.Date.IsZero() {
		t.Errorf("In-Reply-To only: %+v, %v", r, err)
	}
}

// Whatever the subject, the extraction ends, and its result is a trimmed part of the normalised subject.
func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [FWD: c]", "re: [fwd: [fwd: re: [fwd: babylon]]]", "[a] [b] Fw [c]: x (fwd)", "[fwd:]", "[fwd: ]]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		base, _ := BaseSubject(subject)
		if strings.TrimSpace(base) != base && strings.TrimSpace(base) != "" {
			t.Errorf("BaseSubject(%q) = %q: not trimmed", subject, base)
		}
		if !strings.Contains(strings.Join(strings.Fields(subject), " "), base) {
			t.Errorf("BaseSubject(%q) = %q: not part of the subject", subject, base)
		}
	})
}

// A group's name stands for its first address in FROM, TO and CC, and in DISPLAYFROM and DISPLAYTO, as in Dovecot:
// the envelope starts a group with a marker whose mailbox is the group's name and whose host is empty.
func TestSortRecordGroups(t *testing.T) {
	env := &imap.Envelope{
		From: []imap.Address{{Mailbox: "d"}},
		To:   []imap.Address{{Mailbox: "Phòng Nội vụ"}, {Mailbox: "an", Host: "x.vn"}, {}},
		Cc:   []imap.Address{{Mailbox: "empty"}, {}},
	}
	r := NewSortRecord(&Meta{Envelope: env}, nil)
	if r.From.Text != "d" || r.DisplayFrom.Text != "d" || r.To.Text != "Phòng Nội vụ" ||
		r.DisplayTo.Key != "PHONG NOI VU" || r.Cc.Text != "empty" {
		t.Errorf("sort record of groups: %+v", r)
	}
}

// TestSortRecordOfBareLocalPart: "To: d" has no address the envelope can show; it sorts by "d" (between "b@c.d" and
// "empty" in imaptest's sort-display-to), not as a message without To.
func TestSortRecordOfBareLocalPart(t *testing.T) {
	raw := []byte("From: d\r\nTo: d\r\nCc: =?utf-8?q?Ph=C3=B2ng?=\r\n\r\nbody\r\n")
	p := Parse(raw)
	r := NewSortRecord(p.ToMeta(), raw)
	if r.From.Text != "d" || r.DisplayFrom.Text != "d" || r.To.Text != "d" || r.DisplayTo.Text != "d" || r.Cc.Text != "Phòng" {
		t.Errorf("sort record of bare local parts: %+v", r)
	}
}
