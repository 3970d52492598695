package dsn

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/unicode/norm"

	"mailserver/internal/message"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var ict = time.FixedZone("ICT", 7*3600)

// originalHeader of a report sent from a Vietnamese client: RFC 2047 subject, as Outlook writes it.
const origHeader = "Date: Thu, 02 Oct 2025 08:30:00 +0700\r\n" +
	"From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBB?= <nguyen.van.a@a.gov.vn>\r\n" +
	"To: <nguyen.van.b@b.gov.vn>\r\n" +
	"Subject: =?utf-8?b?QsOhbyBjw6FvIHTDrG5oIGjDrG5oIHF1w70gSUlJ?=\r\n" +
	"Message-ID: <abc.123@mail.a.gov.vn>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n"

const origSubject = "Báo cáo tình hình quý III"

func failedReport() Report {
	return Report{
		ReportingMTA: "mail.a.gov.vn",
		From:         "MAILER-DAEMON@mail.a.gov.vn",
		To:           "nguyen.van.a@a.gov.vn",
		QueueID:      "Q7K2M4P9",
		ArrivalDate:  time.Date(2025, 10, 2, 8, 30, 5, 0, ict),
		Recipients: []Recipient{{
			Address:     "nguyen.van.b@b.gov.vn",
			Action:      Failed,
			Status:      "5.1.1",
			RemoteMTA:   "mx.b.gov.vn",
			Diagnostic:  "550 5.1.1 <nguyen.van.b@b.gov.vn>: Recipient address rejected: User unknown",
			LastAttempt: time.Date(2025, 10, 2, 8, 30, 7, 0, ict),
		}},
		OriginalHeader: []byte(origHeader),
		Now:            time.Date(2025, 10, 2, 8, 30, 8, 0, ict),
	}
}

// report is a built report as go-message and our own parser read it.
type report struct {
	raw     []byte
	header  mail.Header
	params  map[string]string  // top-level Content-Type parameters
	partCTs []string           // media types of the parts, in order
	heads   []gomessage.Header // headers of the parts
	text    string             // part 1, decoded
	fields  []textproto.Header // part 2: the per-message group, then one per recipient
	orig    []byte             // part 3, decoded; nil if absent
	parsed  *message.Parsed
}

func mustBuild(t *testing.T, r Report) []byte {
	t.Helper()
	out, err := Build(r)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out
}

// parse reads raw with go-message and our parser, and checks what every report must satisfy.
func parse(t *testing.T, raw []byte) *report {
	t.Helper()
	checkLines(t, raw)
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message: %v", err)
	}
	rep := &report{raw: raw, header: mail.Header{Header: e.Header}, parsed: message.Parse(raw)}
	ct, params, err := e.Header.ContentType()
	if err != nil || ct != "multipart/report" {
		t.Fatalf("Content-Type %q, %v; want multipart/report", ct, err)
	}
	rep.params = params
	mr := e.MultipartReader()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("part body: %v", err)
		}
		pct, _, _ := p.Header.ContentType()
		rep.partCTs = append(rep.partCTs, pct)
		rep.heads = append(rep.heads, p.Header)
		switch len(rep.partCTs) {
		case 1:
			rep.text = string(body)
		case 2:
			rep.fields = statusGroups(t, body)
		case 3:
			rep.orig = body
		}
	}
	return rep
}

// statusGroups splits a message/delivery-status body into its groups of fields.
func statusGroups(t *testing.T, body []byte) []textproto.Header {
	t.Helper()
	if !isASCII(body) {
		t.Errorf("message/delivery-status is not 7-bit:\n%s", body)
	}
	br := bufio.NewReader(bytes.NewReader(body))
	var groups []textproto.Header
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return groups
		}
		h, err := textproto.ReadHeader(br)
		if err != nil {
			t.Fatalf("delivery-status group %d: %v\n%s", len(groups), err, body)
		}
		groups = append(groups, h)
	}
}

// checkLines checks that every line ends with CRLF and has at most 998 bytes before it.
func checkLines(t *testing.T, raw []byte) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Error("report does not end with CRLF")
	}
	for i, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) || bytes.IndexAny(line[:len(line)-2], "\r\n") >= 0 {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line)-2 > maxLine {
			t.Errorf("line %d has %d bytes", i+1, len(line)-2)
		}
	}
}

func (r *report) recipients() []textproto.Header { return r.fields[1:] }

func TestBuildFailed(t *testing.T) {
	in := failedReport()
	rep := parse(t, mustBuild(t, in))

	if got := rep.params["report-type"]; got != "delivery-status" {
		t.Errorf("report-type %q", got)
	}
	wantSubject := "Thư không gửi được / Undelivered Mail Returned to Sender"
	if s, err := rep.header.Subject(); err != nil || s != wantSubject {
		t.Errorf("Subject %q, %v", s, err)
	}
	from, err := rep.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Hệ thống thư điện tử" || from[0].Address != in.From {
		t.Errorf("From %v, %v", from, err)
	}
	if to, err := rep.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != in.To {
		t.Errorf("To %v, %v", to, err)
	}
	if d, err := rep.header.Date(); err != nil || !d.Equal(in.Now) {
		t.Errorf("Date %v, %v", d, err)
	}
	if id, err := rep.header.MessageID(); err != nil || !strings.HasSuffix(id, "@mail.a.gov.vn") {
		t.Errorf("Message-ID %q, %v", id, err)
	}
	for _, f := range []string{"In-Reply-To", "References"} {
		if ids, err := rep.header.MsgIDList(f); err != nil || len(ids) != 1 || ids[0] != "abc.123@mail.a.gov.vn" {
			t.Errorf("%s %v, %v", f, ids, err)
		}
	}
	if got := rep.header.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if got := rep.header.Get("MIME-Version"); got != "1.0" {
		t.Errorf("MIME-Version %q", got)
	}

	wantCTs := []string{"text/plain", "message/delivery-status", "text/rfc822-headers"}
	if strings.Join(rep.partCTs, " ") != strings.Join(wantCTs, " ") {
		t.Fatalf("parts %v, want %v", rep.partCTs, wantCTs)
	}
	if _, p, _ := rep.heads[0].ContentType(); p["charset"] != "utf-8" {
		t.Errorf("text part charset %q", p["charset"])
	}
	for _, want := range []string{
		origSubject, "08:30 ngày 02/10/2025 (GMT+07:00)", "nguyen.van.b@b.gov.vn (mã lỗi 5.1.1)",
		"Máy chủ bên nhận (mx.b.gov.vn) trả lời: " + in.Recipients[0].Diagnostic,
		"địa chỉ người nhận không tồn tại hoặc bị viết sai", "gõ nhầm", "mã thư: Q7K2M4P9",
		"The receiving server (mx.b.gov.vn) replied: " + in.Recipients[0].Diagnostic,
		"Check the address for typing mistakes",
	} {
		if !strings.Contains(rep.text, want) {
			t.Errorf("text lacks %q:\n%s", want, rep.text)
		}
	}
	if vi, en := strings.Index(rep.text, "KHÔNG GỬI ĐƯỢC"), strings.Index(rep.text, "NOT DELIVERED"); vi < 0 || en < vi {
		t.Error("Vietnamese does not come first")
	}
	if !utf8.ValidString(rep.text) || !norm.NFC.IsNormalString(rep.text) {
		t.Error("text is not NFC UTF-8")
	}

	if len(rep.fields) != 2 {
		t.Fatalf("%d delivery-status groups, want 2", len(rep.fields))
	}
	msg := rep.fields[0]
	for k, v := range map[string]string{
		"Reporting-MTA": "dns; mail.a.gov.vn",
		"X-Queue-ID":    "Q7K2M4P9",
		"Arrival-Date":  "Thu, 02 Oct 2025 08:30:05 +0700",
	} {
		if got := msg.Get(k); got != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	rcpt := rep.recipients()[0]
	for k, v := range map[string]string{
		"Final-Recipient":   "rfc822; nguyen.van.b@b.gov.vn",
		"Action":            "failed",
		"Status":            "5.1.1",
		"Remote-MTA":        "dns; mx.b.gov.vn",
		"Diagnostic-Code":   "smtp; " + in.Recipients[0].Diagnostic,
		"Last-Attempt-Date": "Thu, 02 Oct 2025 08:30:07 +0700",
	} {
		if got := unfold(rcpt.Get(k)); got != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	if rcpt.Has("Will-Retry-Until") {
		t.Error("Will-Retry-Until on a failed recipient")
	}
	if !bytes.Equal(rep.orig, in.OriginalHeader) {
		t.Errorf("part 3 %q, want the original header", rep.orig)
	}

	env := rep.parsed.Envelope
	if env.Subject != wantSubject {
		t.Errorf("message.Parse: subject %q", env.Subject)
	}
	if len(env.From) != 1 || env.From[0].Mailbox != "MAILER-DAEMON" || env.From[0].Name != "Hệ thống thư điện tử" {
		t.Errorf("message.Parse: from %+v", env.From)
	}
	if len(env.InReplyTo) != 1 || env.InReplyTo[0] != "abc.123@mail.a.gov.vn" {
		t.Errorf("message.Parse: in-reply-to %v", env.InReplyTo)
	}
	root := rep.parsed.Root
	if root.Type != "multipart" || root.Subtype != "report" || len(root.Children) != 3 {
		t.Fatalf("message.Parse: root %s/%s with %d parts", root.Type, root.Subtype, len(root.Children))
	}
	if c := root.Children[1]; c.Type != "message" || c.Subtype != "delivery-status" {
		t.Errorf("message.Parse: part 2 is %s/%s", c.Type, c.Subtype)
	}
	if !strings.Contains(rep.parsed.BodyText, message.Fold("gõ nhầm")) {
		t.Error("message.Parse: the Vietnamese text is not searchable")
	}
}

// unfold undoes header folding: go-message keeps the line breaks of a folded value.
func unfold(v string) string { return strings.ReplaceAll(v, "\r\n", "") }

func TestGolden(t *testing.T) {
	got, err := build(failedReport(), "B0UNDARY5XN2T3J4K5L6M7N8P9", "MSGID2Q3R4S5T6U7V8W9X2Y3Z4")
	if err != nil {
		t.Fatal(err)
	}
	parse(t, got)
	path := filepath.Join("testdata", "failed.eml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report differs from %s (run go test -update if the change is intended):\n%s", path, got)
	}
}

func TestAdvice(t *testing.T) {
	arrival := time.Date(2025, 10, 1, 9, 0, 0, 0, ict)
	now := arrival.Add(5 * 24 * time.Hour)
	tests := []struct {
		name, status string
		action       Action
		remote       string
		want         []string
	}{
		{"no such user", "5.1.1", Failed, "mx.b.gov.vn", []string{"gõ nhầm", "phần sau dấu @", "typing mistakes"}},
		{"no such domain", "5.1.2", Failed, "", []string{"gõ nhầm", "Không kết nối được tới máy chủ thư bên nhận"}},
		{"mailbox full", "5.2.2", Failed, "mx.b.gov.vn", []string{"hộp thư của người nhận đã đầy", "xóa bớt thư cũ", "mailbox is full"}},
		{"mailbox full, expired", "4.2.2", Failed, "mx.b.gov.vn", []string{"hộp thư của người nhận đã đầy", "mailbox is full"}},
		{"too large", "5.3.4", Failed, "mx.b.gov.vn", []string{"dung lượng quá lớn", "tệp đính kèm nhỏ hơn", "đường liên kết", "send a link"}},
		{"over the size limit", "5.2.3", Failed, "mx.b.gov.vn", []string{"dung lượng quá lớn"}},
		{"spam", "5.7.1", Failed, "mx.b.gov.vn", []string{"thư rác", "gọi điện thoại cho người nhận", "bộ phận CNTT", "Phone the recipient"}},
		{"expired", "4.4.1", Failed, "", []string{"trong 5 ngày", "bộ phận CNTT", "for 5 days", "IT department"}},
		{"expired on greylisting", "4.7.1", Failed, "mx.b.gov.vn", []string{"trong 5 ngày", "sự cố"}},
		{"other", "5.4.4", Failed, "", []string{"Nếu địa chỉ đúng", "If it is correct"}},
		{"no status", "", Failed, "", []string{"(mã lỗi 5.0.0)", "Nếu địa chỉ đúng"}},
		{"delayed", "4.4.1", Delayed, "", []string{
			"Thư của Anh/Chị chưa đến được", "không cần làm gì", "đến 09:00 ngày 06/10/2025 (GMT+07:00)",
			"You do not need to do anything", "until 09:00, 6 Oct 2025 (GMT+07:00)",
		}},
		{"delivered", "2.0.0", Delivered, "mx.b.gov.vn", []string{"đã được chuyển đi thành công", "ĐÃ GỬI ĐƯỢC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := failedReport()
			r.ArrivalDate, r.Now = arrival, now
			r.Recipients = []Recipient{{
				Address: "b@b.gov.vn", Action: tt.action, Status: tt.status, RemoteMTA: tt.remote,
				WillRetryUntil: arrival.Add(5 * 24 * time.Hour).In(time.UTC),
			}}
			rep := parse(t, mustBuild(t, r))
			for _, want := range tt.want {
				if !strings.Contains(rep.text, want) {
					t.Errorf("text lacks %q:\n%s", want, rep.text)
				}
			}
			if tt.action != Delayed && strings.Contains(rep.text, "không cần làm gì") {
				t.Error("a final report says there is nothing to do")
			}
			rc := rep.recipients()[0]
			if got := rc.Get("Action"); got != string(tt.action) {
				t.Errorf("Action %q", got)
			}
			if tt.action == Delayed && rc.Get("Will-Retry-Until") != "Mon, 06 Oct 2025 02:00:00 +0000" {
				t.Errorf("Will-Retry-Until %q", rc.Get("Will-Retry-Until"))
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	for action, want := range map[Action]string{
		Failed:    "Thư không gửi được / Undelivered Mail Returned to Sender",
		Delayed:   "Thư đang chậm gửi / Delayed Mail (still being retried)",
		Delivered: "Thư đã gửi thành công / Successful Mail Delivery Report",
	} {
		r := failedReport()
		r.Recipients[0].Action = action
		rep := parse(t, mustBuild(t, r))
		if s, err := rep.header.Subject(); err != nil || s != want {
			t.Errorf("%s: Subject %q, %v", action, s, err)
		}
		if rep.parsed.Envelope.Subject != want {
			t.Errorf("%s: message.Parse subject %q", action, rep.parsed.Envelope.Subject)
		}
	}
}

func TestMixedActions(t *testing.T) {
	r := failedReport()
	until := r.Now.Add(4 * 24 * time.Hour)
	r.Recipients = append(r.Recipients,
		Recipient{Address: "tran.thi.c@c.gov.vn", Action: Delayed, Status: "4.4.1", WillRetryUntil: until},
		Recipient{Address: "le.van.d@b.gov.vn", Action: Failed, Status: "5.1.1", RemoteMTA: "mx.b.gov.vn"})
	rep := parse(t, mustBuild(t, r))

	if s, _ := rep.header.Subject(); !strings.HasPrefix(s, "Thư không gửi được") {
		t.Errorf("Subject %q: a failure must show in the subject", s)
	}
	for _, want := range []string{"chưa đến được một số người nhận", "gõ nhầm", "không cần làm gì", "le.van.d@b.gov.vn"} {
		if !strings.Contains(rep.text, want) {
			t.Errorf("text lacks %q:\n%s", want, rep.text)
		}
	}
	// Both unknown users are listed under one explanation.
	if n := strings.Count(rep.text, "địa chỉ người nhận không tồn tại"); n != 1 {
		t.Errorf("the address explanation appears %d times", n)
	}
	rcs := rep.recipients()
	if len(rcs) != 3 {
		t.Fatalf("%d recipient groups", len(rcs))
	}
	for i, want := range []string{"failed", "delayed", "failed"} {
		if got := rcs[i].Get("Action"); got != want {
			t.Errorf("recipient %d: Action %q, want %q", i, got, want)
		}
		if has := rcs[i].Has("Will-Retry-Until"); has != (want == "delayed") {
			t.Errorf("recipient %d: Will-Retry-Until present %v", i, has)
		}
	}
}

func TestHostileValues(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Diagnostic = "550 no\r\nX-Injected: yes\r\n\r\nFinal-Recipient: rfc822; evil@x.example\r\n" +
		"Action: delivered\n\x00\x1b[31m\u202egnp.exe\u2028Subject: fake"
	r.Recipients[0].RemoteMTA = "mx.b.gov.vn\r\nX-Injected: yes"
	r.Recipients[0].Address = "b@b.gov.vn\r\nX-Injected: yes"
	r.QueueID = "Q1\r\nX-Injected: yes"
	rep := parse(t, mustBuild(t, r))

	if rep.header.Has("X-Injected") {
		t.Error("a header line was injected into the report's header")
	}
	if len(rep.fields) != 2 {
		t.Fatalf("%d delivery-status groups, want 2: a group was injected", len(rep.fields))
	}
	for i, g := range rep.fields {
		if g.Has("X-Injected") {
			t.Errorf("group %d: a field was injected", i)
		}
	}
	rc := rep.recipients()[0]
	if got := rc.Values("Action"); len(got) != 1 || got[0] != "failed" {
		t.Errorf("Action %v", got)
	}
	if got := rc.Values("Final-Recipient"); len(got) != 1 || got[0] != "rfc822; b@b.gov.vn X-Injected: yes" {
		t.Errorf("Final-Recipient %v", got)
	}
	diag := unfold(rc.Get("Diagnostic-Code"))
	if !strings.HasPrefix(diag, "smtp; 550 no X-Injected: yes Final-Recipient: rfc822; evil@x.example Action: delivered") {
		t.Errorf("Diagnostic-Code %q", diag)
	}
	for _, c := range diag {
		if c < ' ' || c > '~' {
			t.Errorf("Diagnostic-Code has %U", c)
		}
	}
	for _, line := range strings.Split(rep.text, "\n") {
		if strings.HasPrefix(line, "X-Injected") || strings.HasPrefix(line, "Subject: fake") {
			t.Errorf("a line was injected into the text: %q", line)
		}
	}
	if strings.ContainsAny(rep.text, "\x00\x1b\u202e\u2028") {
		t.Error("control or bidi characters reached the text")
	}
}

func TestLongValues(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Diagnostic = strings.Repeat("x", 5000) // no space to fold at
	r.Recipients = append(r.Recipients, Recipient{
		Address: "c@c.gov.vn", Action: Failed, Status: "5.7.1",
		Diagnostic: strings.Repeat("550-5.7.1 policy rejection text ", 200),
		RemoteMTA:  strings.Repeat("h", 2000),
	}, Recipient{
		Address: strings.Repeat("ễ+", 200) + "@c.gov.vn", Action: Failed, Status: "5.1.1",
	})
	rep := parse(t, mustBuild(t, r)) // checks the line lengths
	rcs := rep.recipients()
	if d := rcs[0].Get("Diagnostic-Code"); len(d) != len("smtp; ")+maxDiagnostic {
		t.Errorf("unbreakable diagnostic is %d bytes, want it cut to %d", len(d), maxDiagnostic)
	}
	if d := unfold(rcs[1].Get("Diagnostic-Code")); !strings.HasPrefix(d, "smtp; 550-5.7.1 policy rejection text 550-5.7.1") || len(d) > len("smtp; ")+maxDiagnostic {
		t.Errorf("long diagnostic %d bytes: %.80q", len(d), d)
	}
	// Folded at spaces: the field's first line is short and continued on the next.
	i := bytes.Index(rep.raw, []byte("\r\nDiagnostic-Code: smtp; 550-5.7.1")) + 2
	first, rest, _ := bytes.Cut(rep.raw[i:], []byte("\r\n"))
	if len(first) > 78 || rest[0] != ' ' {
		t.Errorf("a long diagnostic is not folded at spaces: %q", first)
	}
}

func TestNonASCIIAddress(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Address = "nguyễn.văn.b@b.gov.vn"
	rep := parse(t, mustBuild(t, r))
	if got, want := rep.recipients()[0].Get("Final-Recipient"), `utf-8; nguy\x{1EC5}n.v\x{103}n.b@b.gov.vn`; got != want {
		t.Errorf("Final-Recipient %q, want %q", got, want)
	}
	if !strings.Contains(rep.text, "nguyễn.văn.b@b.gov.vn (mã lỗi 5.1.1)") {
		t.Errorf("the text does not show the address as written:\n%s", rep.text)
	}
}

func TestNonASCIIDiagnostic(t *testing.T) {
	r := failedReport()
	r.Recipients[0].Diagnostic = "550 5.1.1 Người nhận không tồn tại"
	rep := parse(t, mustBuild(t, r))
	if got := rep.recipients()[0].Get("Diagnostic-Code"); got != "smtp; 550 5.1.1 Ng??i nh?n kh?ng t?n t?i" {
		t.Errorf("Diagnostic-Code %q", got)
	}
	if !strings.Contains(rep.text, "trả lời: 550 5.1.1 Người nhận không tồn tại") {
		t.Errorf("the text does not show the reply as received:\n%s", rep.text)
	}
}

func TestOriginalHeader(t *testing.T) {
	huge := []byte(origHeader[:len(origHeader)-2])
	for i := 0; len(huge) < 3*maxOriginal; i++ {
		huge = append(huge, "Received: from relay.example by mx.example with ESMTP;\r\n Thu, 2 Oct 2025 08:30:00 +0700\r\n"...)
	}
	huge = append(huge, "\r\n"...)
	utf8Header := "Subject: Báo cáo quý III\r\nMessage-ID: <u@a.gov.vn>\r\n\r\n"

	tests := []struct {
		name string
		in   string
		want string // part 3; "" when it must be left out
	}{
		{"missing", "", ""},
		{"no blank line", "Subject: x\r\n", ""},
		{"bare LF", "Subject: x\nFrom: a@b\n\n", ""},
		{"not a header", "hello world\r\n\r\n", ""},
		{"continuation first", " folded\r\nSubject: x\r\n\r\n", ""},
		{"long line", "Subject: " + strings.Repeat("x", 1000) + "\r\n\r\n", ""},
		{"with body", "Subject: x\r\n\r\nbody text\r\n", "Subject: x\r\n\r\n"},
		{"8-bit", utf8Header, utf8Header},
		{"huge", string(huge), ""}, // checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := failedReport()
			r.OriginalHeader = []byte(tt.in)
			rep := parse(t, mustBuild(t, r))
			if tt.name == "huge" {
				if len(rep.orig) > maxOriginal || len(rep.orig) < maxOriginal-200 || !bytes.HasSuffix(rep.orig, []byte("\r\n\r\n")) ||
					!bytes.HasPrefix(huge, rep.orig[:len(rep.orig)-2]) || !bytes.HasPrefix(huge[len(rep.orig)-2:], []byte("Received:")) {
					t.Errorf("bounded header: %d bytes ending %q", len(rep.orig), rep.orig[max(0, len(rep.orig)-80):])
				}
				return
			}
			if tt.want == "" {
				if len(rep.partCTs) != 2 {
					t.Errorf("parts %v: part 3 must be left out", rep.partCTs)
				}
				return
			}
			if string(rep.orig) != tt.want {
				t.Errorf("part 3 %q, want %q", rep.orig, tt.want)
			}
		})
	}
}

func TestEightBitHeaderStaysSevenBit(t *testing.T) {
	r := failedReport()
	r.OriginalHeader = []byte("Subject: Báo cáo quý III\r\nMessage-ID: <u@a.gov.vn>\r\n\r\n")
	rep := parse(t, mustBuild(t, r))
	if !isASCII(rep.raw) {
		t.Error("the report has 8-bit bytes")
	}
	if enc := rep.heads[2].Get("Content-Transfer-Encoding"); enc != "base64" {
		t.Errorf("part 3 encoding %q", enc)
	}
	if !strings.Contains(rep.text, "Tiêu đề: Báo cáo quý III") {
		t.Errorf("raw UTF-8 subject not shown:\n%s", rep.text)
	}
	if ids, _ := rep.header.MsgIDList("In-Reply-To"); len(ids) != 1 || ids[0] != "u@a.gov.vn" {
		t.Errorf("In-Reply-To %v", ids)
	}
}

func TestNoOriginal(t *testing.T) {
	r := failedReport()
	r.OriginalHeader = nil
	rep := parse(t, mustBuild(t, r))
	if rep.header.Has("In-Reply-To") || rep.header.Has("References") {
		t.Error("In-Reply-To without an original Message-ID")
	}
	if !strings.Contains(rep.text, "Tiêu đề: (không có tiêu đề)") || !strings.Contains(rep.text, "Subject: (no subject)") {
		t.Errorf("no placeholder for the missing subject:\n%s", rep.text)
	}
	// The arrival date stands in for the missing Date field.
	if !strings.Contains(rep.text, "Gửi lúc: 08:30 ngày 02/10/2025 (GMT+07:00)") {
		t.Errorf("no sending time:\n%s", rep.text)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Report)
		want   error
	}{
		{"null sender", func(r *Report) { r.To = "" }, ErrNullSender},
		{"null sender in brackets", func(r *Report) { r.To = "<>" }, ErrNullSender},
		{"bad To", func(r *Report) { r.To = "a@b.gov.vn\r\nBcc: x@y" }, ErrInvalid},
		{"bad From", func(r *Report) { r.From = "daemon" }, ErrInvalid},
		{"no recipients", func(r *Report) { r.Recipients = nil }, ErrInvalid},
		{"no reporting host", func(r *Report) { r.ReportingMTA = "" }, ErrInvalid},
		{"bad reporting host", func(r *Report) { r.ReportingMTA = "mail a" }, ErrInvalid},
		{"unknown action", func(r *Report) { r.Recipients[0].Action = "bounced" }, ErrInvalid},
		{"no recipient address", func(r *Report) { r.Recipients[0].Address = " " }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := failedReport()
			tt.change(&r)
			out, err := Build(r)
			if !errors.Is(err, tt.want) || out != nil {
				t.Errorf("Build: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	r := failedReport()
	r.From, r.Now = "", time.Time{}
	before := time.Now().Add(-time.Second)
	rep := parse(t, mustBuild(t, r))
	if from, _ := rep.header.AddressList("From"); len(from) != 1 || from[0].Address != "MAILER-DAEMON@mail.a.gov.vn" {
		t.Errorf("From %v", from)
	}
	if d, err := rep.header.Date(); err != nil || d.Before(before) {
		t.Errorf("Date %v, %v: want now", d, err)
	}
}

func TestRandomIDs(t *testing.T) {
	a, b := parse(t, mustBuild(t, failedReport())), parse(t, mustBuild(t, failedReport()))
	if a.params["boundary"] == b.params["boundary"] {
		t.Error("two reports share a boundary")
	}
	if a.header.Get("Message-ID") == b.header.Get("Message-ID") {
		t.Error("two reports share a Message-ID")
	}
}
