package webmail

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A message with an HTML body (a script, a cid image, a remote image) and a PDF with a Vietnamese name: the page
// frames the sanitised HTML in a sandbox, the frame's document has no script and shows the cid image inline and
// the remote one only once allowed, and the PDF downloads byte for byte under its name.
func TestHTMLBodyFramedAndAttachmentDownloaded(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n'}, 500)...)
	png := []byte("\x89PNG\r\n\x1a\nfake")
	raw := "From: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("Văn thư")) + "?= <vanthu@hanoi.gov.vn>\r\n" +
		"To: lan@hanoi.gov.vn\r\nSubject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n" +
		"--m\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n" +
		"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<p onclick=\"x()\">Kính gửi chị Lan</p><script>alert(1)</script><img src=\"cid:logo@x\"><img src=\"https://tracker.example/p.gif\">\r\n" +
		"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(png) + "\r\n--r--\r\n" +
		"--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%201.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(pdf) + "\r\n--m--\r\n"
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if _, err := e.st.Append(inbox.ID, newMessage(raw, day), nil, nil); err != nil {
		t.Fatal(err)
	}
	c, _ := e.loggedIn(t)
	page := e.get(t, c, "/mail/read?f=INBOX&uid=1")
	if !strings.Contains(page.body, `<iframe class="htmlbody" sandbox src="/mail/html?f=INBOX&amp;uid=1"`) ||
		!strings.Contains(page.body, "/mail/read?f=INBOX&amp;uid=1&amp;images=1") {
		t.Fatalf("reading page without the framed body or the images link:\n%s", page.body)
	}
	doc := e.get(t, c, "/mail/html?f=INBOX&uid=1")
	csp := doc.header.Get("Content-Security-Policy")
	if doc.status != http.StatusOK || !strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "https:") {
		t.Fatalf("framed document %d, CSP %q", doc.status, csp)
	}
	for _, bad := range []string{"<script", "onclick", "tracker.example"} {
		if strings.Contains(doc.body, bad) {
			t.Errorf("the framed document has %q:\n%s", bad, doc.body)
		}
	}
	if !strings.Contains(doc.body, "Kính gửi chị Lan") ||
		!strings.Contains(doc.body, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(png)) {
		t.Errorf("the framed document lacks the text or the inline image:\n%s", doc.body)
	}
	allowed := e.get(t, c, "/mail/html?f=INBOX&uid=1&images=1")
	if !strings.Contains(allowed.body, "https://tracker.example/p.gif") ||
		!strings.Contains(allowed.header.Get("Content-Security-Policy"), "https:") {
		t.Errorf("remote images not shown once allowed:\n%s", allowed.body)
	}
	if !strings.Contains(page.body, "/mail/part?f=INBOX&amp;p=2&amp;uid=1") {
		t.Fatalf("no download link for the PDF:\n%s", page.body)
	}
	got := e.get(t, c, "/mail/part?f=INBOX&p=2&uid=1")
	if got.status != http.StatusOK || got.body != string(pdf) || got.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("download: %d %q, %d bytes (want %d)", got.status, got.header.Get("Content-Type"), len(got.body), len(pdf))
	}
	if cd := got.header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''C%C3%B4ng%20v%C4%83n%20s%E1%BB%91%201.pdf") {
		t.Errorf("Content-Disposition %q lacks the Vietnamese name", cd)
	}
	if nothing := e.get(t, c, "/mail/part?f=INBOX&p=9&uid=1"); nothing.status != http.StatusNotFound {
		t.Errorf("a part that does not exist: %d", nothing.status)
	}
	other := e.client(t)
	if r := e.get(t, other, "/mail/part?f=INBOX&p=2&uid=1"); r.body == string(pdf) {
		t.Error("the attachment downloads without a session")
	}
}
