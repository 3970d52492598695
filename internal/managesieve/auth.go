package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// maxSASLSteps bounds an AUTHENTICATE exchange: LOGIN takes three, PLAIN two.
const maxSASLSteps = 4

// writeCapabilities writes the capability list (RFC 5804 section 1.7) without the OK that ends it.
func (s *session) writeCapabilities() {
	o := s.srv.opts
	mechs := ""
	if s.mayAuthenticate() {
		mechs = "PLAIN LOGIN"
	}
	lines := []string{
		`"IMPLEMENTATION" ` + quoteOrLiteral(o.Implementation),
		// An empty SASL list before STARTTLS tells the client to start TLS first, as Dovecot does.
		`"SASL" ` + quoteOrLiteral(mechs),
		`"SIEVE" ` + quoteOrLiteral(strings.Join(o.Extensions, " ")),
	}
	if !s.tls && o.TLSConfig != nil {
		lines = append(lines, `"STARTTLS"`)
	}
	lines = append(lines, `"MAXREDIRECTS" "`+strconv.Itoa(o.MaxRedirects)+`"`, `"UNAUTHENTICATE"`)
	if s.account != nil {
		lines = append(lines, `"OWNER" `+quoteOrLiteral(s.account.Address))
	}
	// NOTIFY is not offered: the interpreter has no notify extension.
	lines = append(lines, `"VERSION" "1.0"`)
	for _, l := range lines {
		s.writeLine(l)
	}
}

// mayAuthenticate says whether AUTHENTICATE is allowed now: after STARTTLS, or on loopback with AllowInsecureAuth.
func (s *session) mayAuthenticate() bool {
	return s.tls || (s.srv.opts.AllowInsecureAuth && s.srv.trusted(s.remote))
}

func (s *session) capability(args []arg) reply {
	if len(args) != 0 {
		return s.usage("CAPABILITY", "no arguments")
	}
	s.writeCapabilities()
	return ok("Capability completed")
}

func (s *session) logout(args []arg) reply {
	r := ok("Logout completed")
	r.end = true
	return r
}

// noop answers NOOP, with its tag echoed in a TAG response code (RFC 5804 section 2.13).
func (s *session) noop(args []arg) reply {
	switch vals, isStrings := stringArgs(args, len(args)); {
	case len(args) == 0:
		return ok("Done")
	case len(args) == 1 && isStrings:
		return reply{kind: "OK", code: codeArg("TAG", vals[0]), text: "Done"}
	}
	return s.usage("NOOP", "an optional string")
}

// startTLS answers STARTTLS (RFC 5804 section 2.2): OK, the handshake, then the capabilities again.
func (s *session) startTLS(args []arg) reply {
	cfg := s.srv.opts.TLSConfig
	switch {
	case len(args) != 0:
		return s.usage("STARTTLS", "no arguments")
	case s.tls:
		return noText("TLS is already active")
	case cfg == nil:
		return noText("STARTTLS is not available on this server")
	}
	if !s.send(ok("Begin TLS negotiation now")) {
		return hangUp
	}
	if s.reader.r.Buffered() > 0 {
		// Commands sent in plaintext before the handshake could be an attacker's, injected to run under TLS.
		s.log.Warn("managesieve: plaintext pipelined after STARTTLS")
		s.connLog.End("plaintext after STARTTLS")
		return hangUp
	}
	s.writeMu.Lock()
	s.handshaking = true
	tc := tls.Server(s.conn, cfg)
	s.writeMu.Unlock()
	_ = tc.SetDeadline(time.Now().Add(s.srv.limits.CommandTimeout))
	err := tc.Handshake()
	s.writeMu.Lock()
	s.handshaking = false
	closing := s.closing
	if err == nil {
		s.conn, s.w = tc, bufio.NewWriter(tc)
	}
	s.writeMu.Unlock()
	if err != nil || closing {
		s.log.Info("managesieve TLS handshake failed", "err", err)
		s.connLog.End("TLS handshake failed")
		return hangUp
	}
	_ = tc.SetDeadline(time.Time{})
	s.tls = true
	s.reader = s.newReader(tc)
	s.writeCapabilities()
	return ok("TLS active")
}

// authenticate runs AUTHENTICATE (RFC 5804 section 2.1) with PLAIN or LOGIN.
func (s *session) authenticate(args []arg) reply {
	vals, isStrings := stringArgs(args, len(args))
	if len(args) < 1 || len(args) > 2 || !isStrings {
		return s.usage("AUTHENTICATE", "a mechanism name and an optional initial response")
	}
	if !s.mayAuthenticate() {
		return no("ENCRYPT-NEEDED", "Use STARTTLS before AUTHENTICATE")
	}
	if s.srv.opts.Auth == nil {
		return no("TRYLATER", "Login is not available")
	}
	var attempt loginAttempt
	check := func(identity, user, pass string) error {
		attempt.username, attempt.checked = user, true
		if identity != "" && identity != user {
			attempt.err = errIdentity
			return attempt.err
		}
		attempt.acct, attempt.err = s.srv.opts.Auth.Authenticate(s.remote, user, pass)
		return attempt.err
	}
	var mech sasl.Server
	switch strings.ToUpper(vals[0]) {
	case sasl.Plain:
		mech = sasl.NewPlainServer(check)
	case sasl.Login:
		mech = auth.NewLoginServer(func(user, pass string) error { return check("", user, pass) })
	default:
		return noText("Unsupported SASL mechanism; use PLAIN or LOGIN")
	}
	var initial []byte
	if len(vals) == 2 {
		var err error
		if initial, err = base64.StdEncoding.DecodeString(vals[1]); err != nil {
			return noText("The initial response is not base64")
		}
	}
	r, done := s.runSASL(mech, initial)
	if !done {
		return r
	}
	return s.loginResult(attempt)
}

// loginAttempt is what the SASL mechanism's check saw: checked is false when the exchange failed before it.
type loginAttempt struct {
	acct     store.Account
	username string
	err      error
	checked  bool
}

// errIdentity refuses a PLAIN authorization identity other than the user: nobody logs in as somebody else here.
var errIdentity = errors.New("authorization identity differs from the user name")

// runSASL exchanges challenges and responses until mech is done. done is false when the exchange ended otherwise
// (cancelled, malformed, the connection gone), with the reply to give.
func (s *session) runSASL(mech sasl.Server, response []byte) (r reply, done bool) {
	for range maxSASLSteps {
		challenge, finished, err := mech.Next(response)
		if finished || err != nil {
			return reply{}, true // the result is the check's, or a malformed exchange (loginResult)
		}
		s.writeLine(quoteOrLiteral(base64.StdEncoding.EncodeToString(challenge)))
		s.writeMu.Lock()
		flushed := !s.closing && s.flushLocked()
		s.writeMu.Unlock()
		if !flushed {
			return hangUp, false
		}
		s.setReadDeadline(s.srv.limits.LoginTimeout)
		a, err := s.reader.readContinuation()
		var se *syntaxError
		switch {
		case errors.As(err, &se):
			return s.misplaced("AUTHENTICATE cancelled: " + se.msg), false
		case err != nil:
			s.endOnReadError(err)
			return hangUp, false
		case a.Oversized:
			return s.misplaced("AUTHENTICATE cancelled: the response is too long"), false
		case a.Text == "*":
			return no("", "Authentication cancelled"), false
		}
		if response, err = base64.StdEncoding.DecodeString(a.Text); err != nil {
			return noText("AUTHENTICATE cancelled: the response is not base64"), false
		}
	}
	return noText("AUTHENTICATE cancelled: too many steps"), false
}

// loginResult turns the Authenticator's answer into the reply, logs it and counts failures.
func (s *session) loginResult(a loginAttempt) reply {
	acct, username, err := a.acct, a.username, a.err
	switch {
	case !a.checked:
		return s.refuseLogin(slog.LevelInfo, "managesieve login malformed", username,
			noText("Malformed SASL exchange"), errors.New("malformed"))
	case err == nil:
		s.account = &acct
		s.log = s.connLog.Logger().With("account", acct.Address)
		s.log.Info("managesieve login")
		return ok("Logged in")
	case errors.Is(err, auth.ErrInvalidCredentials):
		return s.refuseLogin(slog.LevelInfo, "managesieve login failed", username,
			noText("Invalid user name or password"), err)
	case errors.Is(err, auth.ErrTooManyAttempts):
		return s.refuseLogin(slog.LevelWarn, "managesieve login throttled", username, throttled(err), err)
	case errors.Is(err, auth.ErrAccountDisabled):
		return s.refuseLogin(slog.LevelInfo, "managesieve login to a disabled account", username,
			noText("Account is disabled, contact your administrator"), err)
	case errors.Is(err, auth.ErrBusy):
		return s.refuseLogin(slog.LevelWarn, "managesieve login not checked: every password check slot busy",
			username, no("TRYLATER", "The server is busy checking other logins; try again in a few seconds"), err)
	case errors.Is(err, errIdentity):
		return s.refuseLogin(slog.LevelInfo, "managesieve login failed", username,
			noText("Logging in as another user is not supported"), err)
	default:
		return s.internalError("login", err)
	}
}

// refuseLogin logs a refused login with the reason and counts it on the connection. The user name goes through
// auth.LogName; the password never reaches a log.
func (s *session) refuseLogin(level slog.Level, msg, username string, r reply, reason error) reply {
	s.connLog.Count(countFailedLogins)
	s.log.Log(context.Background(), level, msg, "user", auth.LogName(username), "code", r.code,
		"reason", reason.Error())
	return r
}

// throttled is the refusal of a login the throttle did not let through: TRYLATER, with when to try again.
func throttled(err error) reply {
	var te *auth.ThrottledError
	if errors.As(err, &te) && !te.Locked {
		return no("TRYLATER", "Too many logins at once; "+te.Advice())
	}
	return no("TRYLATER", "Too many failed logins; "+auth.RetryAdvice(err))
}

// unauthenticate answers UNAUTHENTICATE (RFC 5804 section 2.14.1): back to the state before AUTHENTICATE.
func (s *session) unauthenticate(args []arg) reply {
	if len(args) != 0 {
		return s.usage("UNAUTHENTICATE", "no arguments")
	}
	s.log.Info("managesieve unauthenticate")
	s.account = nil
	s.log = s.connLog.Logger()
	return ok("Unauthenticated")
}
