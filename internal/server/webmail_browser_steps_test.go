package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The webmail's page title (layout.html), which no mail may change.
const webmailTitle = "Hòm thư công vụ"

// checkReport checks the open report: its subject, and its HTML body in a frame sandboxed with every restriction,
// showing the Vietnamese text with neither script elements nor event handlers left in its document.
func (b *browserSession) checkReport() {
	b.t.Helper()
	if got := browserGet(b, "subject", chromedp.Text(chromedp.CSS("article.message h1"))); got != reportSubject {
		b.t.Errorf("subject %q, want %q", got, reportSubject)
	}
	sandbox := browserGet(b, "sandbox", chromedp.AttributeValue(chromedp.CSS("iframe.htmlbody"), "sandbox"))
	if !sandbox.Exists || sandbox.Value != "" {
		b.t.Errorf("the HTML body's frame has sandbox=%q (present %v), want every restriction (an empty sandbox)",
			sandbox.Value, sandbox.Exists)
	}
	frame, done := b.htmlBodyFrame()
	defer done()
	text, err := chromedp.Run(frame, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.t.Fatalf("the HTML body's text: %v", err)
	}
	if !strings.Contains(text, reportGreeting) {
		b.t.Errorf("the HTML body shows %q, want the greeting %q", text, reportGreeting)
	}
	left, err := chromedp.Run(frame, chromedp.Evaluate[[]string](`[...document.querySelectorAll('*')]
		.filter(e => e.tagName === 'SCRIPT' || e.tagName === 'IFRAME' || e.tagName === 'FORM' ||
			[...e.attributes].some(a => a.name.startsWith('on') || a.value.includes('javascript:')))
		.map(e => e.outerHTML)`))
	if err != nil {
		b.t.Fatalf("the HTML body's elements: %v", err)
	}
	if len(left) > 0 {
		b.t.Errorf("the HTML body kept active content: %q", left)
	}
	if title, err := chromedp.Run(frame, chromedp.Title()); err != nil || strings.Contains(title, hostileMark) {
		b.t.Errorf("the HTML body's document title %q (%v): a script of the mail ran", title, err)
	}
}

// htmlBodyFrame is a chromedp context on the HTML body's frame. Chromium isolates a sandboxed frame in a process
// of its own, a target of its own that the page's context cannot query into.
func (b *browserSession) htmlBodyFrame() (context.Context, context.CancelFunc) {
	b.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatalf("targets: %v", err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, b.base+"/mail/html?") {
				return chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
			}
		}
	}
	b.t.Fatal("no frame target for the HTML body")
	return nil, nil
}

// checkNoScriptRan checks that the page around the mail kept its title and place and that no dialog,
// navigation or request of the mail's scripts happened in its tab.
func (b *browserSession) checkNoScriptRan(h *hostileEffects) {
	b.t.Helper()
	if title := browserGet(b, "title", chromedp.Title()); title != webmailTitle {
		b.t.Errorf("page title %q, want %q: a script of the mail ran", title, webmailTitle)
	}
	if loc := b.location(); strings.Contains(loc, hostileMark) {
		b.t.Errorf("the page went to %s: a script of the mail ran", loc)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) > 0 {
		b.t.Errorf("the mail's active content took effect: %q", h.events)
	}
}

// downloadReport downloads the PDF attachment through its link and compares it with what was sent, byte for
// byte, under its Vietnamese name (RFC 6266 filename*).
func (b *browserSession) downloadReport() {
	b.t.Helper()
	if name := browserGet(b, "attachment", chromedp.Text(chromedp.CSS("ul.attachments a.name"))); name != reportFileName {
		b.t.Errorf("attachment listed as %q, want %q", name, reportFileName)
	}
	dir := b.t.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	began := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	b.do("download the PDF", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true)})
		return err
	}), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		// A click in script rather than with the mouse: no race with the page's layout as the framed body loads.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('ul.attachments a.name').click(), true)`))
		return err
	}))
	for ev, err := range began {
		if err != nil {
			b.t.Fatalf("download: %v", err)
		}
		if ev.SuggestedFilename != reportFileName {
			b.t.Errorf("downloaded as %q, want %q", ev.SuggestedFilename, reportFileName)
		}
		break
	}
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			b.t.Fatal("the download was cancelled")
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			b.t.Fatal(err)
		}
		if string(got) != reportPDF {
			b.t.Errorf("downloaded PDF differs: %d bytes %q, sent %d bytes", len(got), got, len(reportPDF))
		}
		return
	}
	b.t.Fatal("the download did not complete")
}

func ptrTo[T any](v T) *T { return &v }

// sharedControls lists the page's controls that could change something: every form, button and field outside
// the log-out form and the search form (a GET that changes nothing).
const sharedControls = `[...document.querySelectorAll('form, button, input, select, textarea')]
	.filter(e => { const f = e.closest('form'); return !(f && (f.getAttribute('action') === '/mail/logout' ||
		(f.getAttribute('action') === '/mail/search' && (f.getAttribute('method') || 'get').toLowerCase() === 'get'))); })
	.map(e => e.outerHTML)`

// checkSharedReadOnly opens the shared mailbox granted for reading only: its list and its message say so and
// offer no control that changes anything, and reading leaves the message unread for its owners.
func (b *browserSession) checkSharedReadOnly() {
	b.t.Helper()
	shared := `ul.folders a[href="/mail/list?f=Shared%2F` + strings.ReplaceAll(sharedBox, "@", "%40") + `"]`
	b.do("open the shared mailbox", chromedp.Click(chromedp.CSS("a.brand")), chromedp.WaitVisible(chromedp.CSS(shared)),
		chromedp.Click(chromedp.CSS(shared)), chromedp.WaitVisible(chromedp.CSS("ol.messages")))
	b.wantReadOnly("the shared list")
	b.do("read the shared message", chromedp.Click(chromedp.CSS("ol.messages li:first-child a")),
		chromedp.WaitVisible(chromedp.CSS("article.message")))
	b.wantReadOnly("the shared message")
	b.do("back to the folders", chromedp.Click(chromedp.CSS("a.brand")), chromedp.WaitVisible(chromedp.CSS(shared)))
	unread := browserGet(b, "shared unread", chromedp.Evaluate[string](
		`document.querySelector('`+shared+`').parentElement.querySelector('.count')?.dataset.unread ?? ''`))
	if unread != "1" {
		b.t.Errorf("the shared mailbox shows %q unread after a read-only reader opened it, want 1", unread)
	}
}

func (b *browserSession) wantReadOnly(what string) {
	b.t.Helper()
	if tag := browserGet(b, what+" tag", chromedp.Text(chromedp.CSS("main .tag"))); tag != "Chỉ được đọc" {
		b.t.Errorf("%s is tagged %q, want Chỉ được đọc", what, tag)
	}
	if controls := browserGet(b, what+" controls", chromedp.Evaluate[[]string](sharedControls)); len(controls) > 0 {
		b.t.Errorf("%s offers controls on a read-only mailbox: %q", what, controls)
	}
}

// logOutEndsSession logs out with the page's button, then puts the old session cookie back: it must no longer
// open a page (the session ended on the server, not only in the browser).
func (b *browserSession) logOutEndsSession() {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/mail/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	var session string
	for _, c := range res.Cookies {
		if c.Name == "__Host-mail" {
			session = c.Value
		}
	}
	if session == "" {
		b.t.Fatalf("no session cookie while logged in: %+v", res.Cookies)
	}
	b.do("log out", chromedp.Click(chromedp.CSS(`form[action="/mail/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("form.login")))
	_, err = chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: "__Host-mail", Value: session,
		URL: b.base + "/", Path: "/", Secure: ptrTo(true), HTTPOnly: ptrTo(true), SameSite: network.CookieSameSiteStrict})
	if err != nil {
		b.t.Fatalf("put the old session cookie back: %v", err)
	}
	b.do("the old session", chromedp.Navigate(b.base+"/mail/"), chromedp.WaitReady(chromedp.CSS("main")))
	if loc := b.location(); loc != "/mail/login" {
		b.t.Errorf("the old session cookie after logging out opened %s, want the login form", loc)
	}
}
