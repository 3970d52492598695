package smtp

import (
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// fillerFields is exactly n bytes of header fields (n at least 8), to push what follows past a parsing limit.
func fillerFields(n int) string {
	var b strings.Builder
	line := "X-Filler: " + strings.Repeat("a", 988) + "\r\n"
	for b.Len()+len(line)+8 <= n {
		b.WriteString(line)
	}
	b.WriteString("X-P: " + strings.Repeat("b", n-b.Len()-7) + "\r\n")
	return b.String()
}

// A submission's From and Sender are checked in full, however much header comes first, and every part of them
// must be an address: a reader's lenient parser would show a colleague's address in a part the check skipped.
func TestSubmissionSenderFieldsCheckedInFull(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxMessageBytes = 4 << 20 })
	own, other := "an@"+domain, "binh@"+domain
	ids := "Date: Fri, 27 Nov 2026 09:00:00 +0700\r\nMessage-ID: <cv1@" + domain + ">\r\n"
	fromOwn := "From: " + own + ",\r\n"
	refused := map[string]string{
		// Date and Message-ID are given, so that nothing is added in front and the offsets stay as written.
		"From continued past 1 MiB": ids + fillerFields(1<<20-len(ids)-len(fromOwn)) + fromOwn + " " + other + "\r\n",
		"Sender past 1 MiB":         ids + "From: " + own + "\r\n" + fillerFields(1<<20) + "Sender: " + other + "\r\n",
		"trailing junk in a part":   "From: " + own + ", Boss <" + other + " x>\r\n",
		"encoded word as a part":    "From: " + own + ", =?utf-8?q?binh=40" + domain + "?=\r\n",
		"stray bracket":             "From: " + own + ", " + other + ">\r\n",
		"spaced at sign":            "From: " + own + ", binh @ " + domain + "\r\n",
		"raw 8-bit display name":    "From: Gi\xe1m \xf0\xe1c <" + own + ">\r\n",
	}
	for name, header := range refused {
		c := e.dialSubmission(own)
		wantCode(t, name, send(c, own, []string{"chi@" + domain}, header+"Subject: x\r\n\r\nhi\r\n"), 550, gosmtp.EnhancedCode{5, 7, 1})
		c.Close()
	}
	accepted := []string{
		"From: " + own + "\r\n",
		"From: =?utf-8?q?Nguy=E1=BB=85n=2C_V=C4=83n_An?= <" + own + ">\r\n", // a comma once decoded
		"From: \"Nguyễn Văn An\" <" + own + ">,\r\n\t" + own + "\r\n",
		"From: " + own + ",\r\n",
	}
	e.submitEach(own, accepted, "Subject: x\r\n\r\nhi\r\n")
}
