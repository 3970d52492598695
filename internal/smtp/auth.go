package smtp

import (
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
	"mailserver/internal/netaddr"
)

// submissionSession is a session that offers AUTH (RFC 4954): PLAIN, and LOGIN for Outlook.
type submissionSession struct{ *session }

var _ gosmtp.AuthSession = (*submissionSession)(nil)

// AuthMechanisms lists the mechanisms EHLO advertises: none until AUTH is allowed.
func (s *submissionSession) AuthMechanisms() []string {
	if !s.authAllowed() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts an exchange. go-smtp refuses a second AUTH after a success.
func (s *submissionSession) Auth(mech string) (sasl.Server, error) {
	if !s.authAllowed() {
		return nil, refuse(s.log, authRefused, errTLSRequired, "mechanism", mech)
	}
	switch mech {
	case sasl.Plain:
		return saslGuard{s.session, sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return refuse(s.log, authFailed, errOtherIdentity, "user", auth.LogName(username))
			}
			return s.login(username, password)
		})}, nil
	case sasl.Login:
		return saslGuard{s.session, auth.NewLoginServer(s.login)}, nil
	}
	return nil, refuse(s.log, authRefused, gosmtp.ErrAuthUnknownMechanism, "mechanism", auth.LogName(mech))
}

// authRefused: an AUTH command refused before any credentials were checked.
const authRefused = "authentication refused"

// authAllowed: over TLS, or from loopback when AllowInsecureAuth is set (RFC 4954 section 4 forbids plaintext
// passwords on unencrypted connections unless the link is otherwise protected).
func (s *session) authAllowed() bool {
	return s.tls || s.srv.opts.AllowInsecureAuth && netaddr.IsLoopback(s.conn.RemoteAddr())
}

// login checks the password and remembers the account for the rest of the session.
func (s *session) login(username, password string) error {
	if s.srv.opts.Auth == nil {
		return refuse(s.log, authFailed, errors.New("submission server has no Authenticator"))
	}
	acct, err := s.srv.opts.Auth.Authenticate(s.conn.RemoteAddr(), username, password)
	if err != nil {
		return refuse(s.log, authFailed, err, "user", auth.LogName(username))
	}
	s.mu.Lock()
	s.account = &acct
	s.mu.Unlock()
	s.log.Info("authenticated", "account", acct.Address)
	return nil
}

// saslGuard passes a mechanism's own errors through refuse: go-smtp would send a plain error's text (such as
// go-sasl's "sasl: invalid response") to the client. Replies come from login, which logged them already.
type saslGuard struct {
	s    *session
	mech sasl.Server
}

func (g saslGuard) Next(response []byte) (challenge []byte, done bool, err error) {
	challenge, done, err = g.mech.Next(response)
	var se *gosmtp.SMTPError
	if err != nil && !errors.As(err, &se) {
		err = refuse(g.s.log, authRefused, fmt.Errorf("%w: %v", errBadSASL, err))
	}
	return challenge, done, err
}
