package imap

import (
	"errors"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/auth"
)

var (
	errAuthFailed   = no(imap.ResponseCodeAuthenticationFailed, "Invalid user name or password")
	errDisabled     = no(imap.ResponseCodeContactAdmin, "Account is disabled, contact your administrator")
	errNoAuthorizer = no(imap.ResponseCodeUnavailable, "Login is not available")
	errLoginBusy    = no(imap.ResponseCodeUnavailable, "The server is busy checking other logins; try again in a few seconds")
)

// Login implements imapserver.Session for LOGIN and, through the library's PLAIN server, AUTHENTICATE PLAIN.
// The library refuses both before TLS (NO [PRIVACYREQUIRED], with LOGINDISABLED advertised) unless the
// connection was routed to the server that allows plaintext authentication (loopback with AllowInsecureAuth).
func (s *session) Login(username, password string) error {
	if s.srv.auth == nil {
		return errNoAuthorizer
	}
	acct, err := s.srv.auth.Authenticate(s.remote, username, password)
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrInvalidCredentials):
		s.log.Info("imap login failed", "user", auth.LogName(username))
		return errAuthFailed
	case errors.Is(err, auth.ErrTooManyAttempts):
		s.log.Warn("imap login throttled", "user", auth.LogName(username), "err", err)
		return throttled(err)
	case errors.Is(err, auth.ErrAccountDisabled):
		s.log.Info("imap login to a disabled account", "user", auth.LogName(username))
		return errDisabled
	case errors.Is(err, auth.ErrBusy):
		s.log.Warn("imap login not checked: every password check slot busy", "user", auth.LogName(username))
		return errLoginBusy
	default:
		return s.internalError("login", err)
	}
	s.account = &acct
	s.log = s.log.With("account", acct.Address)
	s.srv.hub.loggedIn(s, acct.ID)
	s.log.Info("imap login")
	return nil
}

// throttled is the refusal of a login the throttle did not let through: a temporary failure (RFC 5530 UNAVAILABLE)
// that says when to try again, so that the client neither takes the password for wrong nor waits past its deadline.
func throttled(err error) error {
	return no(imap.ResponseCodeUnavailable, "Too many failed logins; "+auth.RetryAdvice(err))
}

// Unauthenticate implements imapserver.SessionUnauthenticate (RFC 8437): back to the not-authenticated state.
func (s *session) Unauthenticate() error {
	s.unselect()
	s.logout()
	s.log = s.srv.log.With("remote", s.remote.String())
	return nil
}
