package server

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"mailserver/internal/mailview"
	"mailserver/internal/store"
)

// Writing, searching and moving in the browser, with mail.js on: these steps follow TestWebmailInBrowser's
// reading steps, logged in as an with the report in INBOX.

// replyFile is the attachment of the reply: every byte value, so that any text conversion on the way shows.
var replyFile = func() []byte {
	b := make([]byte, 3*256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

const replyFileName = "Phụ lục số liệu.bin"

// waitFor evaluates a script expression in the page until it is true. It asks again after an error: the page
// may be between two documents (chromedp's Poll fails when the document it runs in goes away).
func (b *browserSession) waitFor(what, expression string) {
	b.t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](expression)); err == nil && ok {
			return
		}
	}
	page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + '\n' + document.body.innerText`))
	b.t.Fatalf("%s: not true after 10 s (%v): %s\n%s", what, err, expression, page)
}

// openInbox goes to the folder list, then INBOX.
func (b *browserSession) openInbox() {
	b.t.Helper()
	inbox := `ul.folders a[href="/mail/list?f=INBOX"]`
	b.do("open INBOX", chromedp.Click(chromedp.CSS("a.brand")), chromedp.WaitVisible(chromedp.CSS(inbox)),
		chromedp.Click(chromedp.CSS(inbox)), chromedp.WaitVisible(chromedp.CSS("ol.messages")))
}

// searchFolded types "bao cao" in INBOX's search box: the Vietnamese report is found without its diacritics.
func (b *browserSession) searchFolded() {
	b.t.Helper()
	b.openInbox()
	b.do("search", chromedp.SendKeys(chromedp.CSS(`form.search input[name="q"]`), "bao cao"),
		chromedp.Submit(chromedp.CSS(`form.search input[name="q"]`)))
	b.waitFor("search results", `location.pathname === '/mail/search' && !!document.querySelector('ol.messages li')`)
	if got := browserGet(b, "results", chromedp.Text(chromedp.CSS("ol.messages"))); !strings.Contains(got, reportSubject) {
		b.t.Errorf("searching \"bao cao\" found %q, want the report %q", got, reportSubject)
	}
}

// replyWithAttachment opens the report from the search results, replies to it, checks that the Cc field suggests
// a colleague for a folded query (mail.js), attaches a file and sends: the colleague receives it byte for byte.
func (b *browserSession) replyWithAttachment(ts *testServer) {
	b.t.Helper()
	b.do("open the report", chromedp.Click(chromedp.CSS("ol.messages li:first-child a")),
		chromedp.WaitVisible(chromedp.CSS("article.message")),
		chromedp.Click(chromedp.CSS(`p.actions a[href^="/mail/compose?mode=reply&"]`)),
		chromedp.WaitVisible(chromedp.CSS("form.compose")))
	binh := testUsers[1]
	b.do("type a folded name", chromedp.SendKeys(chromedp.CSS(`input[name="cc"]`), "can bo binh"))
	b.waitFor("a suggestion", `[...document.querySelectorAll('ul.suggest button')].some(e => e.textContent.includes('`+binh+`'))`)
	browserGet(b, "clear Cc", chromedp.Evaluate[bool](`(document.querySelector('input[name="cc"]').value = '', true)`))
	file := filepath.Join(b.t.TempDir(), replyFileName)
	if err := os.WriteFile(file, replyFile, 0o600); err != nil {
		b.t.Fatal(err)
	}
	b.do("attach and send", chromedp.SetUploadFiles(chromedp.CSS(`input[name="attach"]`), []string{file}),
		chromedp.Click(chromedp.CSS(`form.compose button[value="send"]`)))
	b.waitFor("the Sent folder", `location.pathname === '/mail/list' && location.search.includes('Sent')`)
	waitDelivered(b.t, ts, binh, 1)
	got := inboxMessages(b, ts, binh)
	v, err := mailview.Render(got[0], mailview.Options{})
	if err != nil {
		b.t.Fatal(err)
	}
	if !strings.HasPrefix(v.Subject, "Re: ") || len(v.Attachments) != 1 || v.Attachments[0].FileName != replyFileName {
		b.t.Fatalf("binh received %q with %+v", v.Subject, v.Attachments)
	}
	if _, _, body, _ := mailview.Part(got[0], v.Attachments[0].Path); string(body) != string(replyFile) {
		b.t.Errorf("the attachment arrived as %d bytes that differ from the %d sent", len(body), len(replyFile))
	}
}

// inboxMessages reads address's INBOX from the store.
func inboxMessages(b *browserSession, ts *testServer, address string) [][]byte {
	b.t.Helper()
	acct, err := ts.Store().Account(address)
	if err != nil {
		b.t.Fatal(err)
	}
	mb, err := ts.Store().Mailbox(acct.ID, "INBOX")
	if err != nil {
		b.t.Fatal(err)
	}
	uids, err := ts.Store().UIDs(mb.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	msgs, err := ts.Store().Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		raw := make([]byte, m.BodySize)
		if _, err := ts.Store().Body(m.Body, m.BodySize).ReadAt(raw, 0); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// moveToArchive ticks the report in INBOX and moves it to Archive: INBOX is then empty and Archive lists it.
func (b *browserSession) moveToArchive() {
	b.t.Helper()
	b.openInbox()
	b.do("move the report", chromedp.Click(chromedp.CSS(`ol.messages li:first-child input[name="uid"]`)),
		chromedp.SetValue(chromedp.CSS(`form#acts select[name="to"]`), "Archive"),
		chromedp.Click(chromedp.CSS(`form#acts button[value="move"]`)))
	b.waitFor("INBOX after moving", `location.pathname === '/mail/list' && !document.querySelector('ol.messages li')`)
	archive := `ul.folders a[href="/mail/list?f=Archive"]`
	b.do("open Archive", chromedp.Click(chromedp.CSS("a.brand")), chromedp.WaitVisible(chromedp.CSS(archive)),
		chromedp.Click(chromedp.CSS(archive)), chromedp.WaitVisible(chromedp.CSS("ol.messages li")))
	if got := browserGet(b, "Archive", chromedp.Text(chromedp.CSS("ol.messages"))); !strings.Contains(got, reportSubject) {
		b.t.Errorf("Archive lists %q, want the report", got)
	}
}
