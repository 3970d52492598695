package vacation

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

const me = "an@example.gov.vn"

func header(t *testing.T, fields string) Header {
	t.Helper()
	h, err := ReadHeader([]byte(strings.ReplaceAll(fields, "\n", "\r\n") + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEligible(t *testing.T) {
	personal := "From: khach@example.com\nTo: Nguyễn Văn An <an@example.gov.vn>\nSubject: Hỏi\n"
	tests := []struct {
		name, fields, from string
		addresses          []string
		ok                 bool
		reason             string
	}{
		{"personal", personal, "khach@example.com", nil, true, ""},
		{"null sender", personal, "", nil, false, "null envelope sender"},
		{"null sender in brackets", personal, "<>", nil, false, "null envelope sender"},
		{"mailer-daemon", personal, "MAILER-DAEMON@example.com", nil, false, "sender mailer-daemon"},
		{"listserv", personal, "listserv@example.com", nil, false, "sender listserv"},
		{"majordomo", personal, "Majordomo@example.com", nil, false, "sender majordomo"},
		{"owner-", personal, "owner-tin-tuc@example.com", nil, false, "sender owner-*"},
		{"-request", personal, "tin-tuc-request@example.com", nil, false, "sender *-request"},
		{"-bounces", personal, "tin-tuc-bounces@example.com", nil, false, "sender *-bounces"},
		{"auto-generated", personal + "Auto-Submitted: auto-generated\n", "x@example.com", nil, false, "Auto-Submitted: auto-generated"},
		{"auto-replied with a comment", personal + "Auto-Submitted: Auto-Replied (vacation)\n", "x@example.com", nil, false, "Auto-Submitted: auto-replied"},
		{"auto-submitted no", personal + "Auto-Submitted: no\n", "x@example.com", nil, true, ""},
		{"precedence bulk", personal + "Precedence: bulk\n", "x@example.com", nil, false, "Precedence: bulk"},
		{"precedence list", personal + "Precedence: List\n", "x@example.com", nil, false, "Precedence: list"},
		{"precedence junk", personal + "Precedence: junk\n", "x@example.com", nil, false, "Precedence: junk"},
		{"precedence first-class", personal + "Precedence: first-class\n", "x@example.com", nil, true, ""},
		{"list-id", personal + "List-Id: <tin-tuc.example.com>\n", "x@example.com", nil, false, "mailing list (List-Id)"},
		{"list-unsubscribe", personal + "List-Unsubscribe: <mailto:u@example.com>\n", "x@example.com", nil, false, "mailing list (List-Unsubscribe)"},
		{"list-post", personal + "List-Post: <mailto:p@example.com>\n", "x@example.com", nil, false, "mailing list (List-Post)"},
		{"not addressed", "To: moi-nguoi@example.gov.vn\n", "x@example.com", nil, false, "the recipient is not in To, Cc, Bcc or their Resent- fields"},
		{"in cc", "To: b@example.com\nCc: x@y.com, AN@Example.GOV.VN\n", "x@example.com", nil, true, ""},
		{"in bcc", "Bcc: an@example.gov.vn\n", "x@example.com", nil, true, ""},
		{"in resent-to", "To: cu@example.gov.vn\nResent-To: an@example.gov.vn\n", "x@example.com", nil, true, ""},
		{"in resent-cc", "Resent-Cc: an@example.gov.vn\n", "x@example.com", nil, true, ""},
		{"in resent-bcc", "Resent-Bcc: an@example.gov.vn\n", "x@example.com", nil, true, ""},
		{"an alias", "To: van-thu@example.gov.vn\n", "x@example.com", []string{"van-thu@example.gov.vn"}, true, ""},
		{"after a malformed address", "To: <<bad, an@example.gov.vn\n", "x@example.com", nil, true, ""},
		{"from: alone does not count", "From: an@example.gov.vn\n", "x@example.com", nil, false, "the recipient is not in To, Cc, Bcc or their Resent- fields"},
		{"own message", personal, "an@example.gov.vn", nil, false, "the sender is the recipient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := Eligible(header(t, tc.fields), tc.from, append([]string{me}, tc.addresses...))
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("Eligible = %v, %q; want %v, %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

// parsed is a reply as go-message reads it.
type parsed struct {
	h    mail.Header
	body string
}

func parseReply(t *testing.T, raw []byte) parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("bare LF in the reply:\n%s", raw)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line over 998 bytes: %q", line)
		}
	}
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(e.Body) // decodes the transfer encoding
	if err != nil {
		t.Fatal(err)
	}
	return parsed{h: mail.Header{Header: e.Header}, body: string(body)}
}

func original(t *testing.T) Header {
	return header(t, "From: Khách <khach@example.com>\nTo: an@example.gov.vn\n"+
		"Subject: =?utf-8?q?B=C3=A1o_c=C3=A1o?= quý III\nMessage-ID: <goc@example.com>\n"+
		"References: <a@example.com> <b@example.com>\n")
}

func TestReply(t *testing.T) {
	now := time.Date(2026, 7, 2, 9, 30, 0, 0, time.FixedZone("ICT", 7*3600))
	raw, err := Reply(ReplyOptions{
		Original: original(t), EnvelopeFrom: "khach@example.com", Recipient: me, RecipientName: "Nguyễn Văn An",
		Reason: "Tôi đang nghỉ phép.\nI am away.", Hostname: "mail.example.gov.vn", Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := parseReply(t, raw)
	subject, err := r.h.Subject()
	if err != nil || subject != "Trả lời tự động / Auto: Báo cáo quý III" {
		t.Errorf("subject = %q, %v", subject, err)
	}
	if !bytes.Contains(raw, []byte("Subject: =?utf-8?")) {
		t.Errorf("subject not RFC 2047 encoded:\n%s", raw)
	}
	from, err := r.h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != me || from[0].Name != "Nguyễn Văn An" {
		t.Errorf("from = %v, %v", from, err)
	}
	to, err := r.h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "khach@example.com" {
		t.Errorf("to = %v, %v", to, err)
	}
	if got, _ := r.h.MsgIDList("In-Reply-To"); len(got) != 1 || got[0] != "goc@example.com" {
		t.Errorf("In-Reply-To = %v", got)
	}
	if got, _ := r.h.MsgIDList("References"); strings.Join(got, " ") != "a@example.com b@example.com goc@example.com" {
		t.Errorf("References = %v", got)
	}
	if got := r.h.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if id, err := r.h.MessageID(); err != nil || !strings.HasSuffix(id, "@mail.example.gov.vn") || len(id) < 30 {
		t.Errorf("Message-ID = %q, %v", id, err)
	}
	if date, err := r.h.Date(); err != nil || !date.Equal(now) {
		t.Errorf("Date = %v, %v", date, err)
	}
	if ct, params, _ := r.h.ContentType(); ct != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %s %v", ct, params)
	}
	if cte := r.h.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", cte)
	}
	if r.body != "Tôi đang nghỉ phép.\r\nI am away.\r\n" {
		t.Errorf("body = %q", r.body)
	}
	if !strings.HasPrefix(string(raw), "Date: ") {
		t.Errorf("fields not in reading order:\n%s", raw)
	}
	// Two replies never share a Message-ID.
	again, _ := Reply(ReplyOptions{Original: original(t), EnvelopeFrom: "khach@example.com", Recipient: me,
		Reason: "x", Hostname: "mail.example.gov.vn"})
	if id1, _ := r.h.MessageID(); strings.Contains(string(again), id1) {
		t.Errorf("Message-ID %s reused", id1)
	}
}

func TestReplySubjectAndFrom(t *testing.T) {
	allowed := func(addr string) bool { return addr == "van-thu@example.gov.vn" }
	tests := []struct {
		name                 string
		opts                 ReplyOptions
		wantSubject, wantFrm string
	}{
		{"script subject", ReplyOptions{Subject: "Đang đi công tác\n(away)"}, "Đang đi công tác (away)", me},
		{"allowed :from", ReplyOptions{From: "Văn thư <van-thu@example.gov.vn>", MayUseFrom: allowed},
			"Trả lời tự động / Auto: Báo cáo quý III", "van-thu@example.gov.vn"},
		{"refused :from", ReplyOptions{From: "giamdoc@example.gov.vn", MayUseFrom: allowed},
			"Trả lời tự động / Auto: Báo cáo quý III", me},
		{":from without a rule", ReplyOptions{From: "van-thu@example.gov.vn"}, "Trả lời tự động / Auto: Báo cáo quý III", me},
		{"unparsable :from", ReplyOptions{From: "<<", MayUseFrom: allowed}, "Trả lời tự động / Auto: Báo cáo quý III", me},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Original, opts.EnvelopeFrom, opts.Recipient = original(t), "khach@example.com", me
			opts.Reason, opts.Hostname = "x", "mail.example.gov.vn"
			raw, err := Reply(opts)
			if err != nil {
				t.Fatal(err)
			}
			r := parseReply(t, raw)
			if s, _ := r.h.Subject(); s != tc.wantSubject {
				t.Errorf("subject = %q, want %q", s, tc.wantSubject)
			}
			if from, _ := r.h.AddressList("From"); len(from) != 1 || from[0].Address != tc.wantFrm {
				t.Errorf("from = %v, want %s", from, tc.wantFrm)
			}
		})
	}
	// A reply to a reply of ours gets no second prefix.
	h := header(t, "Subject: =?utf-8?q?Tr=E1=BA=A3_l=E1=BB=9Di_t=E1=BB=B1_=C4=91=E1=BB=99ng_/_Auto:_x?=\n")
	raw, err := Reply(ReplyOptions{Original: h, EnvelopeFrom: "k@example.com", Recipient: me, Reason: "x", Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	again := parseReply(t, raw)
	if s, _ := again.h.Subject(); s != "Trả lời tự động / Auto: x" {
		t.Errorf("subject = %q", s)
	}
	// A long subject is bounded.
	h = header(t, "Subject: "+strings.Repeat("dài ", 500)+"\n")
	raw, _ = Reply(ReplyOptions{Original: h, EnvelopeFrom: "k@example.com", Recipient: me, Reason: "x", Hostname: "h"})
	long := parseReply(t, raw)
	if s, _ := long.h.Subject(); len([]rune(s)) > len([]rune(SubjectPrefix))+maxSubjectRunes+1 {
		t.Errorf("subject of %d characters", len([]rune(s)))
	}
}

func TestReplyMIME(t *testing.T) {
	reason := "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\nSubject: gài bẫy\n\n" +
		"<p>Tôi đang nghỉ phép.</p>\n"
	raw, err := Reply(ReplyOptions{Original: original(t), EnvelopeFrom: "khach@example.com", Recipient: me,
		Reason: reason, MIME: true, Hostname: "mail.example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	r := parseReply(t, raw)
	if ct, _, _ := r.h.ContentType(); ct != "text/html" {
		t.Errorf("Content-Type = %q", ct)
	}
	if r.body != "<p>Tôi đang nghỉ phép.</p>\r\n" {
		t.Errorf("body = %q", r.body)
	}
	if s, _ := r.h.Subject(); s != "Trả lời tự động / Auto: Báo cáo quý III" || len(r.h.Values("Subject")) != 1 {
		t.Errorf("the entity's Subject leaked into the reply: %q", r.h.Values("Subject"))
	}
	if r.h.Get("Auto-Submitted") != "auto-replied" || r.h.Get("Mime-Version") != "1.0" {
		t.Errorf("header:\n%s", raw)
	}

	_, err = Reply(ReplyOptions{Original: original(t), EnvelopeFrom: "k@example.com", Recipient: me,
		Reason: "just text, no header", MIME: true, Hostname: "h"})
	if err == nil {
		t.Error("a :mime reason without a MIME header was accepted")
	}
}

func TestReplyRefusals(t *testing.T) {
	base := ReplyOptions{Original: original(t), EnvelopeFrom: "k@example.com", Recipient: me, Reason: "x", Hostname: "h"}
	for name, change := range map[string]func(*ReplyOptions){
		"null sender":  func(o *ReplyOptions) { o.EnvelopeFrom = "<>" },
		"no recipient": func(o *ReplyOptions) { o.Recipient = "" },
		"no hostname":  func(o *ReplyOptions) { o.Hostname = "" },
	} {
		opts := base
		change(&opts)
		if _, err := Reply(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An original without Message-ID gets a reply without threading fields.
	raw, err := Reply(ReplyOptions{Original: header(t, "Subject: x\n"), EnvelopeFrom: "k@example.com",
		Recipient: me, Reason: "x", Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if r := parseReply(t, raw); r.h.Has("In-Reply-To") || r.h.Has("References") {
		t.Errorf("threading fields without an original Message-ID:\n%s", raw)
	}
}

func TestDefaultReason(t *testing.T) {
	from := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		from, until time.Time
		vi, en      string
	}{
		{from, until, "Tôi đang nghỉ phép từ 01/07/2026 đến 15/07/2026.", "I am away from 1 July 2026 until 15 July 2026."},
		{time.Time{}, until, "Tôi đang nghỉ phép đến 15/07/2026.", "I am away until 15 July 2026."},
		{from, time.Time{}, "Tôi đang nghỉ phép từ 01/07/2026.", "I am away from 1 July 2026."},
		{time.Time{}, time.Time{}, "Tôi đang nghỉ phép.", "I am away."},
	}
	for _, tc := range tests {
		got := DefaultReason(tc.from, tc.until)
		vi, en := strings.Index(got, tc.vi), strings.Index(got, tc.en)
		if vi != 0 || en <= vi {
			t.Errorf("DefaultReason(%v, %v) = %q; want %q first, then %q", tc.from, tc.until, got, tc.vi, tc.en)
		}
	}
}
