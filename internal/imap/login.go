package imap

import (
	"context"
	"errors"
	"log/slog"

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
// The library refuses both before TLS (NO [PRIVACYREQUIRED], with LOGINDISABLED advertised) unless
// Server.mayAuthWithoutTLS allowed plaintext authentication on the connection (loopback with AllowInsecureAuth).
func (s *session) Login(username, password string) error {
	if s.srv.auth == nil {
		return errNoAuthorizer
	}
	acct, err := s.srv.auth.Authenticate(s.remote, username, password)
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrInvalidCredentials):
		return s.refuseLogin(slog.LevelInfo, "imap login failed", username, errAuthFailed, err)
	case errors.Is(err, auth.ErrTooManyAttempts):
		return s.refuseLogin(slog.LevelWarn, "imap login throttled", username, throttled(err), err)
	case errors.Is(err, auth.ErrAccountDisabled):
		return s.refuseLogin(slog.LevelInfo, "imap login to a disabled account", username, errDisabled, err)
	case errors.Is(err, auth.ErrBusy):
		return s.refuseLogin(slog.LevelWarn, "imap login not checked: every password check slot busy", username,
			errLoginBusy, err)
	default:
		return s.internalError("login", err)
	}
	s.account = &acct
	s.log = s.log.With("account", acct.Address)
	s.srv.hub.loggedIn(s, acct.ID)
	s.log.Info("imap login")
	return nil
}

// refuseLogin logs a refused login with the reply's response code (RFC 5530) and the reason, and returns the
// reply. The user name goes through auth.LogName; the password never reaches a log.
func (s *session) refuseLogin(level slog.Level, msg, username string, reply *imap.Error, reason error) error {
	s.log.Log(context.Background(), level, msg, "user", auth.LogName(username), "code", string(reply.Code),
		"reason", reason.Error())
	return reply
}

// throttled is the refusal of a login the throttle did not let through: a temporary failure (RFC 5530 UNAVAILABLE)
// that says when to try again, so that the client neither takes the password for wrong nor waits past its deadline.
// It names the cause: failed logins locked the address or account out, or logins in progress (each counted as a
// possible failure until it ends) put this one's turn too far away.
func throttled(err error) *imap.Error {
	var te *auth.ThrottledError
	if errors.As(err, &te) && !te.Locked {
		return no(imap.ResponseCodeUnavailable, "Too many logins at once; "+te.Advice())
	}
	return no(imap.ResponseCodeUnavailable, "Too many failed logins; "+auth.RetryAdvice(err))
}

// Unauthenticate implements imapserver.SessionUnauthenticate (RFC 8437): back to the not-authenticated state.
func (s *session) Unauthenticate() error {
	s.unselect()
	s.logout()
	s.log = s.connLog.Logger()
	return nil
}
