package smtp

import (
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// A submission whose From, Sender, Resent-From or Resent-Sender display name shows a colleague's address is
// refused, however the address is written in the name; the reply names the field and says what to do.
func TestSubmissionDisplayNameSpoofRefused(t *testing.T) {
	e := newTestEnv(t)
	own := "an@" + domain
	refused := []struct{ name, header, field string }{
		{"plain", "From: binh@hanoi.gov.vn <an@hanoi.gov.vn>\r\n", "From"},
		{"quoted", "From: \"binh@hanoi.gov.vn\" <an@hanoi.gov.vn>\r\n", "From"},
		{"utf-8 encoded word", "From: =?UTF-8?Q?Tr=E1=BA=A7n_B=C3=ACnh_binh=40hanoi=2Egov=2Evn?= <an@hanoi.gov.vn>\r\n", "From"},
		{"windows-1258 encoded word", "From: \"=?windows-1258?Q?B=ECnh_binh=40hanoi.gov.vn?=\" <an@hanoi.gov.vn>\r\n", "From"},
		{"fullwidth at sign", "From: \"binh＠hanoi.gov.vn\" <an@hanoi.gov.vn>\r\n", "From"},
		{"zero-width space", "From: \"binh@hanoi\u200b.gov.vn\" <an@hanoi.gov.vn>\r\n", "From"},
		{"comment", "From: an@hanoi.gov.vn (binh@hanoi.gov.vn)\r\n", "From"},
		{"Sender", "From: an@hanoi.gov.vn\r\nSender: \"binh@hanoi.gov.vn\" <an@hanoi.gov.vn>\r\n", "Sender"},
		{"Resent-Sender", "Resent-From: an@hanoi.gov.vn\r\nResent-Sender: \"binh@hanoi.gov.vn\" <an@hanoi.gov.vn>\r\n" +
			"From: an@hanoi.gov.vn\r\n", "Resent-Sender"},
	}
	for _, tt := range refused {
		c := e.dialSubmission(own)
		se := wantCode(t, tt.name, send(c, own, []string{"chi@" + domain}, tt.header+"Subject: x\r\n\r\nhi\r\n"),
			550, gosmtp.EnhancedCode{5, 7, 1})
		if !strings.Contains(se.Message, "in the "+tt.field+" header") || !strings.Contains(se.Message, "remove the address from the name") {
			t.Errorf("%s: reply %q, want it to name the %s header and say what to do", tt.name, se.Message, tt.field)
		}
		c.Close()
	}
	accepted := []string{
		"From: \"an@hanoi.gov.vn\" <an@hanoi.gov.vn>\r\n",
		"From: =?utf-8?q?AN=40HANOI=2EGOV=2EVN?= <an@hanoi.gov.vn>\r\n",
		"From: \"Nguyễn Văn An @ Sở Nội vụ\" <an@hanoi.gov.vn>\r\n",
		"From: =?utf-8?q?Nguy=E1=BB=85n_V=C4=83n_An?= <an@hanoi.gov.vn>\r\n",
	}
	e.submitEach(own, accepted, "Subject: x\r\n\r\nhi\r\n")
}

// The newest resent block is held to the rules of From and Sender: its Resent-From and Resent-Sender must be
// addresses the account may send as. Older blocks, below a trace field, are history and are left alone.
func TestSubmissionResentFromChecked(t *testing.T) {
	e := newTestEnv(t)
	own := "an@" + domain
	from := "From: an@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	refused := []struct{ name, header, field string }{
		{"colleague", "Resent-From: binh@hanoi.gov.vn\r\nResent-Date: Mon, 1 Jun 2026 08:00:00 +0700\r\n", "Resent-From"},
		{"colleague as Resent-Sender", "Resent-From: an@hanoi.gov.vn\r\nResent-Sender: binh@hanoi.gov.vn\r\n", "Resent-Sender"},
		{"two Resent-From", "Resent-From: an@hanoi.gov.vn\r\nResent-From: binh@hanoi.gov.vn\r\n", "Resent-From"},
		{"block without Resent-From", "Resent-Date: Mon, 1 Jun 2026 08:00:00 +0700\r\nReceived: from x by y; Mon, 1 Jun 2026 07:00:00 +0700\r\n" +
			"Resent-From: binh@hanoi.gov.vn\r\n", "Resent-From"},
		{"at the end of the header", "X-Mailer: x\r\nResent-From: binh@hanoi.gov.vn\r\n", "Resent-From"},
	}
	for _, tt := range refused {
		c := e.dialSubmission(own)
		se := wantCode(t, tt.name, send(c, own, []string{"chi@" + domain}, tt.header+from), 550, gosmtp.EnhancedCode{5, 7, 1})
		if !strings.HasPrefix(se.Message, tt.field+" header address not owned") {
			t.Errorf("%s: reply %q, want it to name the %s header", tt.name, se.Message, tt.field)
		}
		c.Close()
	}
	accepted := []string{
		"Resent-From: An <an@hanoi.gov.vn>\r\nResent-Date: Mon, 1 Jun 2026 08:00:00 +0700\r\nResent-To: chi@hanoi.gov.vn\r\n",
		// An older block naming the colleague who resent the message before, delivered since.
		"Resent-From: an@hanoi.gov.vn\r\nReceived: from x by y; Mon, 1 Jun 2026 07:00:00 +0700\r\n" +
			"Resent-From: \"binh@hanoi.gov.vn\" <binh@hanoi.gov.vn>\r\n",
	}
	e.submitEach(own, accepted, from)
}

// submitEach submits every header followed by rest, each on its own connection as user, to chi (who must start
// with an empty INBOX), and fails the test unless all of them are delivered.
func (e *testEnv) submitEach(user string, headers []string, rest string) {
	e.t.Helper()
	for _, header := range headers {
		c := e.dialSubmission(user)
		if err := send(c, user, []string{"chi@" + domain}, header+rest); err != nil {
			e.t.Errorf("refused %q: %v", header, err)
		}
		c.Close()
	}
	if n := len(e.inbox("chi@" + domain)); n != len(headers) {
		e.t.Errorf("chi has %d messages, want %d", n, len(headers))
	}
}
