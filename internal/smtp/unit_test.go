package smtp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
	"mailserver/internal/delivery"
	"mailserver/internal/store"
	"mailserver/internal/testlog"
)

func TestToSMTPError(t *testing.T) {
	var logs testlog.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tests := []struct {
		err  error
		code int
		enh  gosmtp.EnhancedCode
	}{
		{fmt.Errorf("x@y: %w", delivery.ErrRelayDenied), 554, gosmtp.EnhancedCode{5, 7, 1}},
		{fmt.Errorf("101 Received headers: %w", delivery.ErrMailLoop), 554, gosmtp.EnhancedCode{5, 4, 6}},
		{fmt.Errorf("x@y: %w", delivery.ErrUnknownRecipient), 550, gosmtp.EnhancedCode{5, 1, 1}},
		{fmt.Errorf("x@y: %w", store.ErrOverQuota), 452, gosmtp.EnhancedCode{4, 2, 2}},
		{delivery.ErrSenderNotAllowed, 553, gosmtp.EnhancedCode{5, 7, 1}},
		{delivery.ErrFromNotAllowed, 550, gosmtp.EnhancedCode{5, 7, 1}},
		{fmt.Errorf("x@y: %w", delivery.ErrMailboxDisabled), 550, gosmtp.EnhancedCode{5, 2, 1}},
		{fmt.Errorf("x@y: %w", delivery.ErrNoMembers), 550, gosmtp.EnhancedCode{5, 2, 4}},
		{fmt.Errorf("x@y: %w", delivery.ErrPostOrganisation), 550, gosmtp.EnhancedCode{5, 7, 1}},
		{fmt.Errorf("x@y: %w", delivery.ErrPostMembers), 550, gosmtp.EnhancedCode{5, 7, 1}},
		{fmt.Errorf("x@y: %w", delivery.ErrPostSenders), 550, gosmtp.EnhancedCode{5, 7, 1}},
		{errAuthRequired, 530, gosmtp.EnhancedCode{5, 7, 0}},
		{errBareNewline, 550, gosmtp.EnhancedCode{5, 6, 0}},
		{auth.ErrInvalidCredentials, 535, gosmtp.EnhancedCode{5, 7, 8}},
		{auth.ErrAccountDisabled, 535, gosmtp.EnhancedCode{5, 7, 8}},
		{auth.ErrTooManyAttempts, 454, gosmtp.EnhancedCode{4, 7, 0}},
		{gosmtp.ErrDataTooLarge, 552, gosmtp.EnhancedCode{5, 3, 4}},
		{fmt.Errorf("%w: read tcp: timeout", errTransferAborted), 451, gosmtp.EnhancedCode{4, 4, 2}},
		{errors.New("bolt: secret internal detail"), 451, gosmtp.EnhancedCode{4, 3, 0}},
	}
	for _, tt := range tests {
		got := toSMTPError(log, tt.err)
		if got.Code != tt.code || got.EnhancedCode != tt.enh {
			t.Errorf("toSMTPError(%v) = %d %v %q, want %d %v", tt.err, got.Code, got.EnhancedCode, got.Message, tt.code, tt.enh)
		}
		if strings.Contains(got.Message, "secret") || strings.Contains(got.Message, "x@y") {
			t.Errorf("toSMTPError(%v) leaks details: %q", tt.err, got.Message)
		}
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "ref=") {
		t.Errorf("internal error not logged with a reference: %s", logs.String())
	}
}

func TestAuthAllowed(t *testing.T) {
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000}
	loop4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	loop6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 5000}
	tests := []struct {
		addr     net.Addr
		tls      bool
		insecure bool
		want     bool
	}{
		{remote, true, false, true},
		{remote, false, true, false}, // AllowInsecureAuth never opens plaintext AUTH to remote clients
		{loop4, false, true, true},
		{loop6, false, true, true},
		{loop4, false, false, false},
	}
	for _, tt := range tests {
		s := &session{srv: &server{opts: Options{AllowInsecureAuth: tt.insecure}}, conn: fakeConn{remote: tt.addr}, tls: tt.tls}
		if got := s.authAllowed(); got != tt.want {
			t.Errorf("authAllowed(%v, tls %v, insecure %v) = %v", tt.addr, tt.tls, tt.insecure, got)
		}
	}
}

type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func TestCheckLineEndings(t *testing.T) {
	for in, ok := range map[string]bool{
		"":                       true,
		"a\r\nb\r\n":             true,
		"no final break":         true,
		"a\nb":                   false,
		"a\rb":                   false,
		"a\r\n\n":                false,
		"a\r":                    false,
		"\n":                     false,
		"a\r\r\n":                false,
		"x\r\n.\r\nmore\r\n\r\n": true,
	} {
		if err := checkLineEndings([]byte(in)); (err == nil) != ok {
			t.Errorf("checkLineEndings(%q) = %v", in, err)
		}
	}
}

func TestCompleteHeader(t *testing.T) {
	now := time.Date(2025, 3, 4, 8, 0, 0, 0, time.FixedZone("", 7*3600))
	full := "Date: x\r\nMESSAGE-ID: <a@b>\r\n\r\nbody\r\n"
	if got := string(completeHeader([]byte(full), "h", now)); got != full {
		t.Errorf("complete header changed: %q", got)
	}
	// A Date in the body or a folded continuation line does not count.
	in := "Subject: a\r\n Date: folded\r\n\r\nDate: in the body\r\n"
	got := string(completeHeader([]byte(in), "mail.example", now))
	if !strings.HasPrefix(got, "Date: Tue, 04 Mar 2025 08:00:00 +0700\r\nMessage-ID: <") ||
		!strings.HasSuffix(got, "@mail.example>\r\n"+in) {
		t.Errorf("completeHeader = %q", got)
	}
	if got := string(completeHeader(nil, "h", now)); !strings.HasPrefix(got, "Date: ") || !strings.HasSuffix(got, "@h>\r\n") {
		t.Errorf("empty message: %q", got)
	}
}

func FuzzCompleteHeader(f *testing.F) {
	f.Add([]byte("From: a@b\r\n\r\nbody\r\n"))
	f.Add([]byte("Date: x\r\nMessage-Id: y\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if checkLineEndings(in) != nil {
			return
		}
		out := completeHeader(in, "h", time.Unix(0, 0))
		if !bytes.HasSuffix(out, in) {
			t.Fatalf("the message's bytes changed: %q -> %q", in, out)
		}
		if again := completeHeader(out, "h", time.Unix(0, 0)); !bytes.Equal(again, out) {
			t.Fatalf("completing twice added fields: %q", again)
		}
	})
}
