package webmail

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

// storeInboxMessage delivers raw to the test user's INBOX; its UID is 1.
func (e *testEnv) storeInboxMessage(t *testing.T, raw string) {
	t.Helper()
	msgs := []store.AppendMessage{{NewMessage: newMessage(raw, time.Now())}}
	if _, err := e.st.AppendMany(mustInbox(t, e.st, e.acct.ID).ID, msgs, nil); err != nil {
		t.Fatal(err)
	}
}

const headersTestMessage = "Return-Path: <hung@hanoi.gov.vn>\r\n" +
	"Received: from mx.hanoi.gov.vn by mail.hanoi.gov.vn;\r\n\tMon, 6 Jul 2026 08:00:00 +0700\r\n" +
	"From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBIw7luZw==?= <hung@hanoi.gov.vn>\r\nTo: lan@hanoi.gov.vn\r\n" +
	"Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o/qu=C3=BD_3?=\r\nDate: Mon, 6 Jul 2026 08:00:00 +0700\r\n" +
	"X-Ghi-Chu: <b>không phải HTML</b>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nKính gửi chị Lan,\r\n"

func TestAllHeaders(t *testing.T) {
	env, _ := newSettingsEnv(t)
	env.storeInboxMessage(t, headersTestMessage)
	c := env.mustLogIn(t, testPassword)
	read := env.get(t, c, "/mail/read?f=INBOX&uid=1")
	if !strings.Contains(read.body, `/mail/read?f=INBOX&amp;uid=1&amp;headers=1`) || !strings.Contains(read.body, `/mail/raw?f=INBOX&amp;uid=1`) {
		t.Errorf("the reading page links neither all headers nor the download:\n%s", read.body)
	}
	r := env.get(t, c, "/mail/read?f=INBOX&uid=1&headers=1")
	if r.status != http.StatusOK {
		t.Fatalf("headers: %d\n%s", r.status, r.body)
	}
	for _, want := range []string{"<dt>Return-Path</dt>", "<dt>Received</dt>", "mx.hanoi.gov.vn by mail.hanoi.gov.vn",
		"<dt>From</dt><dd>Nguyễn Văn Hùng &lt;hung@hanoi.gov.vn&gt;</dd>", "<dd>Báo cáo/quý 3</dd>",
		"<dt>X-Ghi-Chu</dt><dd>&lt;b&gt;không phải HTML&lt;/b&gt;</dd>", "<dt>Content-Transfer-Encoding</dt>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("headers page lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "<b>") {
		t.Error("a header's markup reached the page unescaped")
	}
	if r := env.get(t, c, "/mail/read?f=INBOX&uid=2&headers=1"); r.status != http.StatusNotFound {
		t.Errorf("headers of a missing message: %d", r.status)
	}
}

func TestRawDownload(t *testing.T) {
	env, _ := newSettingsEnv(t)
	env.storeInboxMessage(t, headersTestMessage)
	c := env.mustLogIn(t, testPassword)
	r := env.get(t, c, "/mail/raw?f=INBOX&uid=1")
	if r.status != http.StatusOK || r.body != headersTestMessage {
		t.Fatalf("raw: %d, byte-exact %v\n%q", r.status, r.body == headersTestMessage, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "message/rfc822" {
		t.Errorf("Content-Type %q", ct)
	}
	disp := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(disp, "attachment") || !strings.Contains(disp, ".eml") || strings.Contains(disp, "/") {
		t.Errorf("Content-Disposition %q: an attachment named after the subject, no path", disp)
	}
	if !strings.Contains(disp, "B%C3%A1o%20c%C3%A1o-qu%C3%BD%203.eml") {
		t.Errorf("Content-Disposition %q does not name the subject", disp)
	}
	if r := env.get(t, env.client(t), "/mail/raw?f=INBOX&uid=1"); r.url != "/mail/login" || strings.Contains(r.body, "Kính gửi") {
		t.Errorf("raw without a session: at %s", r.url)
	}
	if r := env.get(t, c, "/mail/raw?f=Kh%C3%B4ng&uid=1"); r.status != http.StatusNotFound {
		t.Errorf("raw from a missing folder: %d", r.status)
	}
}
