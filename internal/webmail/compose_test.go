package webmail

import (
	"bytes"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailserver/internal/mailview"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

const vnSubject = "Báo cáo tổng kết năm 2026 – Sở Nội vụ"

// newForm opens the compose form (new, or reply/forward of INBOX uid) and returns its fields.
func (e *composeEnv) newForm(t *testing.T, c *http.Client, query string) map[string][]string {
	t.Helper()
	r := e.get(t, c, "/mail/compose"+query)
	if r.status != http.StatusOK {
		t.Fatalf("compose form: %d\n%s", r.status, r.body)
	}
	return formFields(t, r.body)
}

func onlyMessage(t *testing.T, raws [][]byte, where string) []byte {
	t.Helper()
	if len(raws) != 1 {
		t.Fatalf("%s: %d messages, want 1", where, len(raws))
	}
	return raws[0]
}

func TestComposeSendsToColleague(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	if got := f["from"]; len(got) != 1 || got[0] != "lan@hanoi.gov.vn" {
		t.Fatalf("From choices: %v", got)
	}
	f["to"] = []string{"Nguyễn Văn Hùng <hung@hanoi.gov.vn>"}
	f["subject"] = []string{vnSubject}
	f["body"] = []string{"Kính gửi anh Hùng,\nĐề nghị anh xem báo cáo.\n"}
	f["action"] = []string{"send"}
	r := e.postForm(t, c, f)
	if r.status != http.StatusOK || r.url != "/mail/list" {
		t.Fatalf("send: %d at %s\n%s", r.status, r.url, r.body)
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	v, err := mailview.Render(got, mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Subject != vnSubject || !strings.Contains(v.Text, "Đề nghị anh xem báo cáo.") {
		t.Errorf("delivered subject %q text %q", v.Subject, v.Text)
	}
	header := string(got[:bytes.Index(got, []byte("\r\n\r\n"))])
	for _, want := range []string{"Subject: =?utf-8?", "Message-Id: <", "Date: ", "quoted-printable",
		"To: =?utf-8?q?Nguy"} {
		if !strings.Contains(header, want) {
			t.Errorf("header lacks %q:\n%s", want, header)
		}
	}
	sent, flags := messagesIn(t, e.st, e.acct.ID, "Sent")
	if len(sent) != 1 || !slices.Contains(flags[0], `\Seen`) || !bytes.HasSuffix(got, sent[0]) {
		t.Errorf("Sent: %d messages, flags %v; want the delivered copy, seen", len(sent), flags)
	}
}

func first(raws [][]byte, _ [][]string) [][]byte { return raws }

func TestComposeReplyQuotesAndThreads(t *testing.T) {
	e := newComposeEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	orig := "From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBIw7luZw==?= <hung@hanoi.gov.vn>\r\nTo: lan@hanoi.gov.vn\r\n" +
		"Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_qu=C3=BD?=\r\nMessage-ID: <goc-1@hanoi.gov.vn>\r\n" +
		"References: <truoc-0@hanoi.gov.vn>\r\nDate: Mon, 05 Jan 2026 08:00:00 +0700\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi chị Lan,\r\nXin gửi báo cáo quý.\r\n"
	if _, err := e.st.Append(inbox.ID, newMessage(orig, time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "?mode=reply&f=INBOX&uid=1")
	if f["subject"][0] != "Re: Báo cáo quý" || !strings.Contains(f["to"][0], "hung@hanoi.gov.vn") ||
		!strings.Contains(f["body"][0], "> Xin gửi báo cáo quý.") {
		t.Fatalf("reply form: %q", f)
	}
	f["body"] = []string{"Đã nhận, cảm ơn anh." + f["body"][0]}
	f["action"] = []string{"send"}
	if r := e.postForm(t, c, f); r.status != http.StatusOK || r.url != "/mail/list" {
		t.Fatalf("send reply: %d at %s\n%s", r.status, r.url, r.body)
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	if v := message.FieldValues(got, "In-Reply-To"); len(v) != 1 || strings.TrimSpace(v[0]) != "<goc-1@hanoi.gov.vn>" {
		t.Errorf("In-Reply-To: %q", v)
	}
	if v := message.FieldValues(got, "References"); len(v) != 1 ||
		strings.TrimSpace(v[0]) != "<truoc-0@hanoi.gov.vn> <goc-1@hanoi.gov.vn>" {
		t.Errorf("References: %q", v)
	}
	v, _ := mailview.Render(got, mailview.Options{})
	if !strings.Contains(v.Text, "Đã nhận, cảm ơn anh.") || !strings.Contains(v.Text, "> Kính gửi chị Lan,") {
		t.Errorf("reply text:\n%s", v.Text)
	}
}

func TestComposeForwardsAsAttachment(t *testing.T) {
	e := newComposeEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	orig := vietnameseMessage(7, time.Now())
	if _, err := e.st.Append(inbox.ID, newMessage(orig, time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)
	r := e.get(t, c, "/mail/compose?mode=attach&f=INBOX&uid=1")
	if !strings.Contains(r.body, "Báo cáo số 7.eml") {
		t.Fatalf("the form does not name the attached original:\n%s", r.body)
	}
	f := formFields(t, r.body)
	f["to"] = []string{"hung@hanoi.gov.vn"}
	f["action"] = []string{"send"}
	if r := e.postForm(t, c, f); r.url != "/mail/list" {
		t.Fatalf("forward: %d at %s\n%s", r.status, r.url, r.body)
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	v, _ := mailview.Render(got, mailview.Options{})
	if v.Subject != "Fwd: Báo cáo số 7" || len(v.Attachments) != 1 || v.Attachments[0].ContentType != "message/rfc822" {
		t.Fatalf("forward: subject %q attachments %+v", v.Subject, v.Attachments)
	}
	_, _, body, err := mailview.Part(got, v.Attachments[0].Path)
	if err != nil || string(body) != orig {
		t.Errorf("attached original differs (%v):\n%q", err, body)
	}
}

// vnFileName is a file name with Vietnamese letters, spaces and a dash, which RFC 2231 must carry.
const vnFileName = "Quyết định số 12 – Phòng Tổ chức.pdf"

func binaryData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

func TestComposeUploadArrivesByteExact(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	f["to"], f["subject"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{vnSubject}, []string{"send"}
	data := binaryData(300_000)
	if r := e.postForm(t, c, f, testFile{vnFileName, "application/pdf", data}); r.url != "/mail/list" {
		t.Fatalf("send: %d at %s\n%s", r.status, r.url, r.body)
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	if !bytes.Contains(got, []byte("filename*=utf-8''Quy%E1%BA%BFt")) {
		t.Errorf("no RFC 2231 file name in:\n%s", got[:2000])
	}
	v, _ := mailview.Render(got, mailview.Options{})
	if len(v.Attachments) != 1 || v.Attachments[0].FileName != vnFileName ||
		v.Attachments[0].ContentType != "application/pdf" {
		t.Fatalf("attachments: %+v", v.Attachments)
	}
	_, _, body, err := mailview.Part(got, v.Attachments[0].Path)
	if err != nil || !bytes.Equal(body, data) {
		t.Errorf("attachment differs (%v): %d bytes, want %d", err, len(body), len(data))
	}
}

func TestComposeRefusesForeignFrom(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	for _, from := range []string{"hung@hanoi.gov.vn", "giamdoc@hanoi.gov.vn"} {
		f["from"], f["to"], f["action"] = []string{from}, []string{"hung@hanoi.gov.vn"}, []string{"send"}
		r := e.postForm(t, c, f)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, words["vi"]["compose_from_refused"]) {
			t.Errorf("From %s: %d\n%s", from, r.status, r.body)
		}
	}
	if got, _ := messagesIn(t, e.st, e.colleague.ID, "INBOX"); len(got) != 0 {
		t.Errorf("a refused message was delivered")
	}
	if sent, _ := messagesIn(t, e.st, e.acct.ID, "Sent"); len(sent) != 0 {
		t.Errorf("a refused message was kept in Sent")
	}
}

func TestComposeDraftSavedReplacedSent(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	f["to"], f["subject"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{"Nháp 1"}, []string{"save"}
	data := binaryData(5000)
	r := e.postForm(t, c, f, testFile{vnFileName, "application/pdf", data})
	if r.status != http.StatusOK || !strings.Contains(r.body, words["vi"]["compose_draft_saved"]) {
		t.Fatalf("save: %d\n%s", r.status, r.body)
	}
	drafts, flags := messagesIn(t, e.st, e.acct.ID, "Drafts")
	if len(drafts) != 1 || !slices.Contains(flags[0], `\Draft`) {
		t.Fatalf("Drafts after the first save: %d, flags %v", len(drafts), flags)
	}
	f = formFields(t, r.body)
	if f["draft"][0] != "1" || len(f["keep"]) != 1 {
		t.Fatalf("the form after saving: %q", f)
	}
	f["subject"], f["action"] = []string{"Nháp 2"}, []string{"save"}
	r = e.postForm(t, c, f)
	drafts, _ = messagesIn(t, e.st, e.acct.ID, "Drafts")
	if v, _ := mailview.Render(onlyMessage(t, drafts, "Drafts after the second save"), mailview.Options{}); v.Subject != "Nháp 2" || len(v.Attachments) != 1 {
		t.Fatalf("the replacing draft: %q, %d attachments", v.Subject, len(v.Attachments))
	}
	f = formFields(t, r.body)
	if f["draft"][0] != "2" {
		t.Fatalf("the form after replacing: draft %q", f["draft"])
	}
	f["action"] = []string{"send"}
	if r := e.postForm(t, c, f); r.url != "/mail/list" {
		t.Fatalf("send: %d at %s\n%s", r.status, r.url, r.body)
	}
	if drafts, _ := messagesIn(t, e.st, e.acct.ID, "Drafts"); len(drafts) != 0 {
		t.Errorf("the draft was kept after sending")
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	v, _ := mailview.Render(got, mailview.Options{})
	if v.Subject != "Nháp 2" || len(v.Attachments) != 1 || v.Attachments[0].FileName != vnFileName {
		t.Fatalf("sent from the draft: %q %+v", v.Subject, v.Attachments)
	}
	if _, _, body, _ := mailview.Part(got, v.Attachments[0].Path); !bytes.Equal(body, data) {
		t.Errorf("the attachment carried through the drafts differs")
	}
	onlyMessage(t, first(messagesIn(t, e.st, e.acct.ID, "Sent")), "Sent")
}

func TestComposeWithoutCSRFRefused(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	f["to"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{"send"}
	delete(f, "csrf")
	if r := e.postForm(t, c, f); r.status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", r.status)
	}
	f["csrf"] = []string{"sai"}
	if r := e.postForm(t, c, f); r.status != http.StatusForbidden {
		t.Errorf("a wrong CSRF token: %d", r.status)
	}
	if got, _ := messagesIn(t, e.st, e.colleague.ID, "INBOX"); len(got) != 0 {
		t.Errorf("sent without a CSRF token")
	}
}

func TestComposeOverSizeLimitRefused(t *testing.T) {
	const limit = 100_000
	e := newComposeEnv(t, limit)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	f["to"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{"send"}
	// 90,000 bytes fit in the request but not, base64-encoded, in the message; 1.2 MB do not even fit the request.
	for _, size := range []int{90_000, 1_200_000} {
		r := e.postForm(t, c, f, testFile{"lon.bin", "application/octet-stream", binaryData(size)})
		want := strings.ReplaceAll(words["vi"]["compose_too_big"], "{max}", formatSize(limit))
		if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, want) {
			t.Errorf("upload of %s bytes: %d\n%s", strconv.Itoa(size), r.status, r.body)
		}
	}
	if got, _ := messagesIn(t, e.st, e.colleague.ID, "INBOX"); len(got) != 0 {
		t.Errorf("a message over the limit was delivered")
	}
}

// TestComposeSendAsQueuedAndAudited: an alias of the user's is offered as From; a message from it to a colleague
// and to another domain is stored for the one, queued (to be DKIM-signed when sent) for the other, and audited as
// a send-as, exactly as a submission over SMTP would be.
func TestComposeSendAsQueuedAndAudited(t *testing.T) {
	e := newComposeEnv(t, 0)
	if _, err := e.st.AddAlias("vanphong@hanoi.gov.vn", "lan@hanoi.gov.vn"); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)
	r := e.get(t, c, "/mail/compose")
	if !strings.Contains(r.body, `<option value="vanphong@hanoi.gov.vn">`) {
		t.Fatalf("the alias is not offered as From:\n%s", r.body)
	}
	f := formFields(t, r.body)
	f["from"], f["subject"], f["action"] = []string{"vanphong@hanoi.gov.vn"}, []string{vnSubject}, []string{"send"}
	f["to"] = []string{"Đối tác <doitac@example.org>; hung@hanoi.gov.vn"}
	if r := e.postForm(t, c, f); r.url != "/mail/list" {
		t.Fatalf("send: %d at %s\n%s", r.status, r.url, r.body)
	}
	onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	queued, err := e.st.QueuedMessages()
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Submitter != "lan@hanoi.gov.vn" || queued[0].From != "vanphong@hanoi.gov.vn" ||
		len(queued[0].Recipients) != 1 || queued[0].Recipients[0].Address != "doitac@example.org" {
		t.Fatalf("queue: %+v", queued)
	}
	records, err := e.st.AuditLog(store.AuditFilter{Account: "vanphong@hanoi.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].Action != "send-as" || records[0].Actor != "lan@hanoi.gov.vn" {
		t.Errorf("audit: %+v", records)
	}
}

// TestReplyAllRecipients: reply all answers the author and copies the other recipients, never the user's own
// addresses, and answers from the address the original was sent to when the user may send as it.
func TestReplyAllRecipients(t *testing.T) {
	raw := []byte("From: \"Trần, Thị Mai\" <mai@hanoi.gov.vn>\r\nTo: vanphong@hanoi.gov.vn, hung@hanoi.gov.vn\r\n" +
		"Cc: LAN@hanoi.gov.vn, =?UTF-8?Q?Ph=E1=BA=A1m_An?= <an@example.org>\r\nSubject: Re: Lịch họp\r\n" +
		"Message-ID: <m1@hanoi.gov.vn>\r\n\r\nHọp lúc 8 giờ.\r\n")
	f := composeForm{Mode: modeReplyAll}
	fillFromOriginal(&f, raw, []string{"lan@hanoi.gov.vn", "vanphong@hanoi.gov.vn"}, words["vi"])
	if f.From != "vanphong@hanoi.gov.vn" || f.Subject != "Re: Lịch họp" {
		t.Errorf("From %q, subject %q", f.From, f.Subject)
	}
	if f.To != `"Trần, Thị Mai" <mai@hanoi.gov.vn>` || f.Cc != "hung@hanoi.gov.vn, Phạm An <an@example.org>" {
		t.Errorf("To %q, Cc %q", f.To, f.Cc)
	}
	if list, bad := parseRecipients(f.To + ", " + f.Cc); bad != "" || len(list) != 3 || list[0].Name != "Trần, Thị Mai" {
		t.Errorf("the filled fields do not read back: %v %q", list, bad)
	}
}

// TestComposeForwardsInline: the original's text is quoted under a forwarding line and its attachments are
// carried into the forward, byte-exact.
func TestComposeForwardsInline(t *testing.T) {
	e := newComposeEnv(t, 0)
	data := binaryData(20_000)
	orig := &outgoing{From: &mail.Address{Name: "Nguyễn Văn Hùng", Address: "hung@hanoi.gov.vn"},
		To: []*mail.Address{{Address: "lan@hanoi.gov.vn"}}, Subject: "Công văn đến", Text: "Xin chuyển công văn.\n",
		Date: time.Now(), MessageID: "cv-1@hanoi.gov.vn",
		Attachments: []fileAttachment{{Name: vnFileName, Type: "application/pdf", Data: data}}}
	raw, err := orig.write(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Append(mustInbox(t, e.st, e.acct.ID).ID, newMessage(string(raw), time.Now()), nil, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "?mode=forward&f=INBOX&uid=1")
	if f["subject"][0] != "Fwd: Công văn đến" || !strings.Contains(f["body"][0], words["vi"]["compose_forwarded"]) ||
		!strings.Contains(f["body"][0], "Xin chuyển công văn.") || len(f["keep"]) != 1 {
		t.Fatalf("forward form: %q", f)
	}
	f["to"], f["action"] = []string{"hung@hanoi.gov.vn"}, []string{"send"}
	if r := e.postForm(t, c, f); r.url != "/mail/list" {
		t.Fatalf("forward: %d at %s\n%s", r.status, r.url, r.body)
	}
	got := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	v, _ := mailview.Render(got, mailview.Options{})
	if len(v.Attachments) != 1 || v.Attachments[0].FileName != vnFileName {
		t.Fatalf("forwarded attachments: %+v", v.Attachments)
	}
	if _, _, body, _ := mailview.Part(got, v.Attachments[0].Path); !bytes.Equal(body, data) {
		t.Errorf("the forwarded attachment differs")
	}
}

// A draft saved earlier opens again from Drafts: the reading page offers to go on writing it, the form comes back
// filled (recipients, subject, text, its attachment kept) and replaces the draft when sent.
func TestComposeDraftOpenedAgainAndSent(t *testing.T) {
	e := newComposeEnv(t, 0)
	c, _ := e.loggedIn(t)
	f := e.newForm(t, c, "")
	f["to"], f["cc"], f["subject"] = []string{"hung@hanoi.gov.vn"}, []string{"lan@hanoi.gov.vn"}, []string{"Tờ trình số 5"}
	f["body"], f["action"] = []string{"Kính gửi anh Hùng,\nDự thảo tờ trình."}, []string{"save"}
	data := binaryData(3000)
	if r := e.postForm(t, c, f, testFile{vnFileName, "application/pdf", data}); r.status != http.StatusOK {
		t.Fatalf("save: %d", r.status)
	}
	read := e.get(t, c, "/mail/read?f=Drafts&uid=1")
	if !strings.Contains(read.body, `href="/mail/compose?draft=1"`) {
		t.Fatalf("the draft's page does not offer to go on writing:\n%s", read.body)
	}
	form := e.get(t, c, "/mail/compose?draft=1")
	got := formFields(t, form.body)
	if got["to"][0] != "hung@hanoi.gov.vn" || got["cc"][0] != "lan@hanoi.gov.vn" || got["subject"][0] != "Tờ trình số 5" ||
		!strings.Contains(got["body"][0], "Dự thảo tờ trình.") || got["draft"][0] != "1" || len(got["keep"]) != 1 {
		t.Fatalf("the draft's form: %q", got)
	}
	if r := e.get(t, c, "/mail/compose?draft=9"); r.status != http.StatusNotFound {
		t.Errorf("a draft that does not exist: %d", r.status)
	}
	got["action"] = []string{"send"}
	if r := e.postForm(t, c, got); r.url != "/mail/list" {
		t.Fatalf("send: %d at %s\n%s", r.status, r.url, r.body)
	}
	if drafts, _ := messagesIn(t, e.st, e.acct.ID, "Drafts"); len(drafts) != 0 {
		t.Errorf("the draft was kept after sending")
	}
	sent := onlyMessage(t, first(messagesIn(t, e.st, e.colleague.ID, "INBOX")), "hung's INBOX")
	v, _ := mailview.Render(sent, mailview.Options{})
	if v.Subject != "Tờ trình số 5" || len(v.Attachments) != 1 || !strings.Contains(v.Text, "Dự thảo tờ trình.") {
		t.Fatalf("sent from the reopened draft: %q %q %+v", v.Subject, v.Text, v.Attachments)
	}
	if _, _, body, _ := mailview.Part(sent, v.Attachments[0].Path); !bytes.Equal(body, data) {
		t.Errorf("the attachment kept through the reopened draft differs")
	}
}
