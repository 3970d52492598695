package admin_test

import (
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/config"
)

// The ports come from the listeners: those on loopback only are offered to this machine's clients alone, and a
// running server's bound addresses (a wildcard binds [::], port 0 a real port) give the same ports as the
// configuration they came from.
func TestMailHostFromListeners(t *testing.T) {
	cfg := config.Default()
	cfg.Hostname = "mail.vinhyen.gov.vn"
	cfg.SMTP.Submission, cfg.SMTP.Submissions = "", ":465"
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS = "localhost:143", "0.0.0.0:993"
	cfg.HTTP.ListenTLS = "[::1]:8443"
	cfg.Smarthost.Host = "relay.vinhphuc.gov.vn:587"
	public := admin.MailHost{Hostname: "mail.vinhyen.gov.vn", Submissions: 465, IMAPS: 993,
		Smarthost: "relay.vinhphuc.gov.vn"}
	if got := admin.MailHostFor(cfg); got != public {
		t.Errorf("MailHostFor = %+v, want %+v", got, public)
	}
	bound := admin.ClientListeners{Submissions: "[::]:465", IMAP: "127.0.0.1:143", IMAPS: "0.0.0.0:993",
		HTTPS: "[::1]:8443"}
	if got := admin.MailHostOn(cfg, bound, false); got != public {
		t.Errorf("MailHostOn(bound, remote client) = %+v, want %+v", got, public)
	}
	local := public
	local.IMAP, local.HTTPS = 143, 8443
	if got := admin.MailHostOn(cfg, bound, true); got != local {
		t.Errorf("MailHostOn(bound, loopback client) = %+v, want %+v", got, local)
	}
}
