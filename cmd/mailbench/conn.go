package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// tlsSettings say how the server's certificate is checked.
type tlsSettings struct {
	CAFile   string // PEM certificate(s) to trust; ignored when missing
	Insecure bool   // skip verification
}

// config returns the client TLS configuration for a server on addr.
func (s tlsSettings) config(addr string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: s.Insecure}
	if s.Insecure || s.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(s.CAFile)
	if os.IsNotExist(err) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read -tls-ca: %w", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-tls-ca %s holds no certificate", s.CAFile)
	}
	return cfg, nil
}

// tlsMode is how a connection is secured: "none", "starttls" or, for IMAP, "imaps" (implicit TLS); SMTP also has
// "auto" (STARTTLS when the server offers it).
type tlsMode string

const (
	tlsNone     tlsMode = "none"
	tlsAuto     tlsMode = "auto"
	tlsStartTLS tlsMode = "starttls"
	tlsIMAPS    tlsMode = "imaps"
)

// dialTimeout bounds every connection attempt.
const dialTimeout = 30 * time.Second

// dialIMAP connects to the target's IMAP (or IMAPS) port and waits for the greeting.
func dialIMAP(t target, mode tlsMode) (*imapclient.Client, error) {
	opts := &imapclient.Options{Dialer: &net.Dialer{Timeout: dialTimeout}}
	addr := t.IMAP
	var c *imapclient.Client
	var err error
	switch mode {
	case tlsNone, tlsAuto, "":
		c, err = imapclient.DialInsecure(addr, opts)
	case tlsStartTLS:
		if opts.TLSConfig, err = t.TLS.config(addr); err == nil {
			c, err = imapclient.DialStartTLS(addr, opts)
		}
	case tlsIMAPS:
		addr = t.IMAPS
		if opts.TLSConfig, err = t.TLS.config(addr); err == nil {
			c, err = imapclient.DialTLS(addr, opts)
		}
	default:
		return nil, fmt.Errorf("unknown IMAP TLS mode %q (none, starttls, imaps)", mode)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to IMAP %s: %w", addr, err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP greeting of %s: %w", addr, err)
	}
	return c, nil
}

// loginIMAP connects and logs in as user, trying again as a mail client does while the server answers
// NO [UNAVAILABLE] (RFC 5530: busy, try later), a bounded number of times.
func loginIMAP(t target, mode tlsMode, user string) (*imapclient.Client, error) {
	for attempt := 1; ; attempt++ {
		c, err := dialIMAP(t, mode)
		if err != nil {
			return nil, err
		}
		err = c.Login(user, t.Password).Wait()
		if err == nil {
			return c, nil
		}
		c.Close()
		if !unavailable(err) || attempt == loginAttempts {
			return nil, fmt.Errorf("IMAP LOGIN %s: %w", user, err)
		}
		time.Sleep(loginRetryWait)
	}
}

// How often and after how long loginIMAP tries a refused LOGIN again.
const (
	loginAttempts  = 20
	loginRetryWait = 2 * time.Second
)

// unavailable says whether err is a NO [UNAVAILABLE] response.
func unavailable(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeUnavailable
}

// smtpSession is how an SMTP connection is opened: plain MX, or submission with AUTH PLAIN as User.
type smtpSession struct {
	Addr string
	TLS  tlsMode // none, auto or starttls
	User string  // non-empty: AUTH PLAIN as User after EHLO (and STARTTLS)
}

// dialSMTP opens an SMTP connection: EHLO, STARTTLS if the session asks for it, AUTH for submission. A session
// whose TLS is "auto" must have been through resolveSMTPTLS first.
func dialSMTP(t target, s smtpSession) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to SMTP %s: %w", s.Addr, err)
	}
	c, err := newSMTPClient(conn, t, s)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if s.User != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.User, t.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("AUTH PLAIN %s at %s: %w", s.User, s.Addr, err)
		}
	}
	return c, nil
}

func newSMTPClient(conn net.Conn, t target, s smtpSession) (*smtp.Client, error) {
	switch s.TLS {
	case tlsNone, "":
		c := smtp.NewClient(conn)
		if err := c.Hello("mailbench.localhost"); err != nil {
			return nil, fmt.Errorf("EHLO to %s: %w", s.Addr, err)
		}
		return c, nil
	case tlsStartTLS:
		cfg, err := t.TLS.config(s.Addr)
		if err != nil {
			return nil, err
		}
		c, err := smtp.NewClientStartTLS(conn, cfg)
		if err != nil {
			return nil, fmt.Errorf("STARTTLS at %s: %w", s.Addr, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown SMTP TLS mode %q (none, auto, starttls)", s.TLS)
}

// resolveSMTPTLS turns the "auto" mode into "starttls" or "none" by asking the server once whether it offers
// STARTTLS (Postfix's and maddy's submission ports in bench-peers do not; this project's does).
func resolveSMTPTLS(t target, s smtpSession) (smtpSession, error) {
	if s.TLS != tlsAuto {
		return s, nil
	}
	probe := s
	probe.TLS, probe.User = tlsNone, ""
	c, err := dialSMTP(t, probe)
	if err != nil {
		return s, err
	}
	defer c.Close()
	s.TLS = tlsNone
	if ok, _ := c.Extension("STARTTLS"); ok {
		s.TLS = tlsStartTLS
	}
	c.Quit()
	return s, nil
}
