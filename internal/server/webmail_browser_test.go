package server

import (
	"encoding/base64"
	"mime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"mailserver/internal/store"
)

// reportPDF is a small PDF with bytes above 0x7F (its binary marker line), which a text conversion would mangle.
const reportPDF = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" +
	"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
	"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

const (
	reportSubject  = "Báo cáo quý I năm 2026 của phường Điện Biên"
	reportFileName = "Báo cáo quý I.pdf"
	reportGreeting = "Kính gửi đồng chí An, phường gửi báo cáo quý I."
	// hostileMark is what the mail's scripts would write into a title or navigate to, had any of them run.
	hostileMark = "XSS-DA-CHAY"
)

// reportHTML is the HTML body: Vietnamese text, and every usual way for a message to run script.
const reportHTML = `<html><head><title>Báo cáo</title>
<script>document.title='` + hostileMark + `';top.document.title='` + hostileMark + `';console.log('` + hostileMark + `')</script>
<meta http-equiv="refresh" content="0;url=/mail/logout?` + hostileMark + `"></head>
<body onload="document.title='` + hostileMark + `';top.location='/mail/?` + hostileMark + `'">
<p id="greeting">` + reportGreeting + `</p>
<img src="/mail/?` + hostileMark + `" onerror="document.title='` + hostileMark + `';top.location='/mail/?` + hostileMark + `'">
<svg onload="alert('` + hostileMark + `')"><circle r="5"/></svg>
<a href="javascript:alert('` + hostileMark + `')">Xem chi tiết</a>
<iframe srcdoc="<script>parent.location='/mail/?` + hostileMark + `'</script>"></iframe>
<form action="/mail/logout" method="post"><button>Gửi</button></form>
</body></html>`

// reportMessage is a Vietnamese message with an HTML body (and its plain text alternative) and a PDF attachment
// named in Vietnamese (RFC 2231 filename*).
func reportMessage(from, to string) string {
	pdf := base64.StdEncoding.EncodeToString([]byte(reportPDF))
	var lines []string
	for len(pdf) > 76 {
		lines, pdf = append(lines, pdf[:76]), pdf[76:]
	}
	lines = append(lines, pdf)
	return "From: " + mime.QEncoding.Encode("utf-8", "Nguyễn Văn Bình") + " <" + from + ">\r\n" +
		"To: " + to + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", reportSubject) + "\r\n" +
		"Date: Mon, 06 Apr 2026 08:30:00 +0700\r\nMessage-ID: <bao-cao-quy-1@example.gov.vn>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"ngoai\"\r\n\r\n" +
		"--ngoai\r\nContent-Type: multipart/alternative; boundary=\"trong\"\r\n\r\n" +
		"--trong\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		reportGreeting + "\r\n" +
		"--trong\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(reportHTML, "\n", "\r\n") + "\r\n--trong--\r\n" +
		"--ngoai\r\nContent-Type: application/pdf; name*=utf-8''B%C3%A1o%20c%C3%A1o%20qu%C3%BD%20I.pdf\r\n" +
		"Content-Disposition: attachment; filename*=utf-8''B%C3%A1o%20c%C3%A1o%20qu%C3%BD%20I.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n--ngoai--\r\n"
}

const sharedBox = "van-thu@example.gov.vn"

// browserMailbox gives an a report with a PDF in INBOX and a shared mailbox it may only read, holding one unread
// message; all delivered over submission.
func browserMailbox(t *testing.T, ts *testServer) {
	t.Helper()
	an, binh := testUsers[0], testUsers[1]
	if _, err := ts.Store().AddShared(store.Account{Address: sharedBox, Name: "Văn thư UBND"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store().SetGrant(sharedBox, an, store.RightRead); err != nil {
		t.Fatal(err)
	}
	if err := ts.submit(binh, []string{an}, reportMessage(binh, an)); err != nil {
		t.Fatalf("submit the report: %v", err)
	}
	if err := ts.submit(binh, []string{sharedBox}, geMessage(binh, sharedBox)); err != nil {
		t.Fatalf("submit to the shared mailbox: %v", err)
	}
	waitDelivered(t, ts, an, 1)
	waitDelivered(t, ts, sharedBox, 1)
}

// waitDelivered waits for address's INBOX to hold n messages.
func waitDelivered(t *testing.T, ts *testServer, address string, n uint32) {
	t.Helper()
	acct, err := ts.Store().Account(address)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mb, err := ts.Store().Mailbox(acct.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if mb.Messages >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d messages in INBOX after 10 s, want %d", address, mb.Messages, n)
		}
	}
}

// The webmail in a real browser, on the real server: log in in Vietnamese, the folder list, a Vietnamese message
// whose HTML body shows in its sandbox without any of its scripts running, its PDF downloaded byte for byte, a
// shared mailbox offering no way to change it, and logging out ending the session. Screenshots of the folder
// list, the message list and the message at phone and desktop widths are kept (WEBMAIL_SCREENSHOTS=dir).
func TestWebmailInBrowser(t *testing.T) {
	ts := startServer(t)
	browserMailbox(t, ts)
	b := startChromium(t, "https://"+ts.Addr("https"), 45*time.Second)
	hostile := b.watchHostileEffects()

	b.logIn(testUsers[0])
	b.screenshots("thu-muc")
	b.do("open INBOX", chromedp.Click(chromedp.CSS(`ul.folders a[href="/mail/list?f=INBOX"]`)),
		chromedp.WaitVisible(chromedp.CSS("ol.messages")))
	b.screenshots("danh-sach")
	b.do("open the report", chromedp.Click(chromedp.CSS("ol.messages li:first-child a")),
		chromedp.WaitVisible(chromedp.CSS("article.message iframe.htmlbody")))
	b.checkReport()
	b.screenshots("thu")
	b.checkNoScriptRan(hostile)
	b.downloadReport()
	b.searchFolded()
	b.replyWithAttachment(ts)
	b.moveToArchive()
	b.checkSharedReadOnly()
	b.logOutEndsSession()
	b.checkNoScriptRan(hostile)
	t.Logf("screenshots in %s", b.shots)
}

// hostileEffects records what the mail's scripts would cause in the page's tab, had any run: dialogs, console
// calls and navigations carrying hostileMark.
type hostileEffects struct {
	mu     sync.Mutex
	events []string
}

func (b *browserSession) watchHostileEffects() *hostileEffects {
	h := &hostileEffects{}
	err := chromedp.Listen(b.ctx, func(ev any) {
		var what string
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			what = "dialog: " + ev.Message
		case *page.EventFrameNavigated:
			if strings.Contains(ev.Frame.URL, hostileMark) {
				what = "navigation to " + ev.Frame.URL
			}
		case *network.EventRequestWillBeSent:
			if strings.Contains(ev.Request.URL, hostileMark) {
				what = "request for " + ev.Request.URL
			}
		}
		if what != "" {
			h.mu.Lock()
			h.events = append(h.events, what)
			h.mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return h
}

// logIn opens the webmail, checks the login form is Vietnamese, and logs in as address.
func (b *browserSession) logIn(address string) {
	b.t.Helper()
	b.do("login form", chromedp.Navigate(b.base+"/mail/"), chromedp.WaitVisible(chromedp.CSS("form.login")))
	if loc := b.location(); loc != "/mail/login" {
		b.t.Fatalf("without a session /mail/ went to %s, want /mail/login", loc)
	}
	lang := browserGet(b, "lang", chromedp.Evaluate[string]("document.documentElement.lang"))
	button := browserGet(b, "login button", chromedp.Text(chromedp.CSS("form.login button")))
	if lang != "vi" || button != "Đăng nhập" {
		b.t.Fatalf("login form in %q with button %q, want Vietnamese (Đăng nhập)", lang, button)
	}
	b.do("log in", chromedp.SendKeys(chromedp.CSS("#address"), address),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("form.login button")), chromedp.WaitVisible(chromedp.CSS("ul.folders")))
	folders := browserGet(b, "folder list", chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{"Thư mục", "Hộp thư đến", "Đã gửi", "Hòm thư dùng chung", sharedBox} {
		if !strings.Contains(folders, want) {
			b.t.Errorf("folder list lacks %q:\n%s", want, folders)
		}
	}
}
