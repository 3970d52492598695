package server

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// Mail from outside whose From display name shows an address of ours is the forgery a colleague's address over a
// stranger's mailbox makes: by default it is delivered into Junk with a warning field, with display_name_spoof =
// "reject" it is refused. A partner's ordinary mail, delivered alongside, is untouched.
func TestMXDisplayNameSpoof(t *testing.T) {
	forged := "From: \"an@example.gov.vn\" <giamdoc@elsewhere.example>\r\nTo: binh@example.gov.vn\r\n" +
		"Subject: Chuyen tien gap\r\n\r\nChuyen ngay.\r\n"
	fullwidth := "From: =?utf-8?q?an=EF=BC=A0example=2Egov=2Evn?= <giamdoc@elsewhere.example>\r\n" +
		"Subject: Chuyen tien gap\r\n\r\nChuyen ngay.\r\n"
	partner := "From: =?utf-8?q?V=C4=83n_th=C6=B0?= <vanthu@partner.gov.vn>\r\nTo: binh@example.gov.vn\r\n" +
		"Subject: Cong van\r\n\r\nKinh gui.\r\n"
	warning := "X-Display-Name-Warning: the From display name shows an@example.gov.vn, an address served here,\r\n" +
		"\tbut the message comes from giamdoc@elsewhere.example, outside\r\n"

	t.Run("junk", func(t *testing.T) {
		ts := startServer(t) // display_name_spoof = "junk" by default
		for _, raw := range []string{forged, fullwidth, partner} {
			if err := sendMX(ts, "giamdoc@elsewhere.example", []string{"binh@example.gov.vn"}, raw); err != nil {
				t.Fatalf("MX refused %q: %v", raw, err)
			}
		}
		c := ts.imapLogin("binh@example.gov.vn", nil)
		junk := fetchAll(t, c, "Junk")
		if len(junk) != 2 {
			t.Fatalf("Junk holds %d messages, want the 2 forgeries", len(junk))
		}
		for i, raw := range []string{forged, fullwidth} {
			got := string(junk[i].FindBodySection(&imap.FetchItemBodySection{}))
			if !strings.Contains(got, warning) {
				t.Errorf("forgery %d in Junk lacks the warning:\n%s", i+1, got)
			}
			if !strings.HasSuffix(got, raw) {
				t.Errorf("forgery %d was altered:\n%s", i+1, got)
			}
		}
		inbox := fetchAll(t, c, "INBOX")
		if len(inbox) != 1 {
			t.Fatalf("INBOX holds %d messages, want the partner's", len(inbox))
		}
		if got := string(inbox[0].FindBodySection(&imap.FetchItemBodySection{})); !strings.HasSuffix(got, partner) ||
			strings.Contains(got, "X-Display-Name-Warning") {
			t.Errorf("partner's message not delivered as sent, without warning:\n%s", got)
		}
	})

	t.Run("reject", func(t *testing.T) {
		cfg := newTestConfig(t)
		cfg.Inbound.DisplayNameSpoof = "reject"
		ts := provision(startServerWith(t, cfg))
		err := sendMX(ts, "giamdoc@elsewhere.example", []string{"binh@example.gov.vn"}, forged)
		if got := smtpCode(err); got != "550 5.7.1" || !strings.Contains(err.Error(), "display name shows an@example.gov.vn") {
			t.Errorf("forgery: got %s (%v), want 550 5.7.1 naming the address shown", got, err)
		}
		if err := sendMX(ts, "vanthu@partner.gov.vn", []string{"binh@example.gov.vn"}, partner); err != nil {
			t.Fatalf("partner's message refused: %v", err)
		}
		c := ts.imapLogin("binh@example.gov.vn", nil)
		if inbox := fetchAll(t, c, "INBOX"); len(inbox) != 1 {
			t.Errorf("INBOX holds %d messages, want the partner's only", len(inbox))
		}
	})
}
