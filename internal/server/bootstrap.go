package server

import (
	"fmt"
	"os"
	"strings"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
)

// Demo names created on the very first start of the embedded default.
const (
	demoDomain  = "example.gov.vn"
	demoAddress = "demo@example.gov.vn"
)

// bootstrap creates the demo domain and account when the store has no domain at all, so that a new user can log in
// straight away; the random password is shown once, with the settings to type into a mail client.
func (s *Server) bootstrap() error {
	domains, err := s.admin.ListDomains()
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if len(domains) > 0 {
		return nil
	}
	password := auth.GeneratePassword()
	if err := s.admin.AddDomain(demoDomain); err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	_, err = s.admin.AddUser(admin.AddUserRequest{Address: demoAddress, Name: "Tài khoản thử nghiệm", Password: password})
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	s.log.Info("first start: created demo account", "address", demoAddress)
	// Shown now, not once the listeners are up: if a port is taken, the account exists all the same and its
	// password would otherwise be lost.
	out := s.opts.Out
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprint(out, s.clientSettings(demoAddress, password))
	return nil
}

// clientSettings is the text shown once on the first start: the demo login and what to type into a mail client.
func (s *Server) clientSettings(address, password string) string {
	host := func(addr string) (string, string) {
		i := strings.LastIndexByte(addr, ':')
		if i < 0 {
			return addr, ""
		}
		return addr[:i], addr[i+1:]
	}
	imapHost, imapPort := host(s.cfg.IMAP.ListenTLS)
	_, imapPlainPort := host(s.cfg.IMAP.Listen)
	_, subPort := host(s.cfg.SMTP.Submissions)
	_, startTLSPort := host(s.cfg.SMTP.Submission)
	var b strings.Builder
	fmt.Fprintf(&b, "\nFirst start: a demo account was created. Its password is shown only this once.\n\n")
	fmt.Fprintf(&b, "  Address:   %s\n  Password:  %s\n\n", address, password)
	fmt.Fprintf(&b, "Mail client settings (Thunderbird, Outlook, phone mail):\n")
	fmt.Fprintf(&b, "  Incoming (IMAP):  server %s, port %s, SSL/TLS (or port %s with STARTTLS)\n", imapHost, imapPort, imapPlainPort)
	fmt.Fprintf(&b, "  Outgoing (SMTP):  server %s, port %s, SSL/TLS (or port %s with STARTTLS)\n", imapHost, subPort, startTLSPort)
	fmt.Fprintf(&b, "  Username:         %s (the full address), normal password\n", address)
	fmt.Fprintf(&b, "  The certificate is self-signed: accept it once when the client asks.\n\n")
	return b.String()
}
