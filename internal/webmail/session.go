package webmail

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"

	"mailserver/internal/auth"
	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// Cookies. The __Host- prefix makes the browser refuse them unless Secure, without Domain and with Path=/, so no
// other host of the domain and no plain-HTTP page can plant one (RFC 6265bis section 4.1.3.2).
const (
	sessionCookie = "__Host-mail"
	// preLoginCookie carries the login form's CSRF token (double submit: the cookie and the form field must
	// agree), so that another site cannot log a browser in to an account of its choosing.
	preLoginCookie = "__Host-mail-pre"
)

// session is a request's logged-in state.
type session struct {
	token   string
	account store.Account
	csrf    string
}

// newToken is 256 random bits in base32 (crypto/rand.Text gives 128 each).
func newToken() string { return rand.Text() + rand.Text() }

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

// withSession runs next for a request with a live session, after checking a POST's CSRF token; without a
// session it sends a GET to the login form and refuses anything else.
func (h *Handler) withSession(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := h.currentSession(r)
		if err != nil {
			h.fail(w, r, "session", err)
			return
		}
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
				return
			}
			h.forbidden(w, r)
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), sess.csrf) {
			h.forbidden(w, r)
			return
		}
		next(w, r, sess)
	}
}

// currentSession is the request's session, or nil: no cookie, an unknown or expired token, or an account that
// has gone or been disabled.
func (h *Handler) currentSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ws, err := h.store.LookupWebSession(c.Value, h.idle)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	acct, err := h.store.AccountByID(ws.AccountID)
	if errors.Is(err, store.ErrAccountNotFound) || err == nil && acct.Disabled {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &session{token: c.Value, account: acct, csrf: ws.CSRF}, nil
}

func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusForbidden, "error", h.basePage(r, nil, "error_forbidden"))
}

// loginPage is the login form's data.
type loginPage struct {
	page
	Address string
}

// loginForm shows the form with a fresh pre-login token.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.showLogin(w, r, http.StatusOK, "", "")
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, address, message string) {
	pre := newToken()
	setCookie(w, preLoginCookie, pre, 0)
	p := loginPage{page: h.basePage(r, nil, message), Address: address}
	p.CSRF = pre
	h.render(w, status, "login", p)
}

// login checks the address and password with the shared Authenticator (its throttle included) and starts a new
// session under a new token, whatever cookie the browser brought (no session fixation).
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	pre, err := r.Cookie(preLoginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), pre.Value) {
		h.forbidden(w, r)
		return
	}
	address, password := r.PostFormValue("address"), r.PostFormValue("password")
	remote := remoteAddr(r)
	acct, err := h.auth.Authenticate(remote, address, password)
	if err != nil {
		h.refuseLogin(w, r, address, err)
		return
	}
	token, csrf := newToken(), newToken()
	if _, err := h.store.AddWebSession(token, acct.ID, csrf); err != nil {
		h.fail(w, r, "login", err)
		return
	}
	h.audit(acct.Address, "webmail.login", remote)
	h.log.Info("webmail login", "account", acct.Address, "remote", netaddr.Host(remote))
	setCookie(w, preLoginCookie, "", -1)
	setCookie(w, sessionCookie, token, 0) // a browser-session cookie: closing the browser ends it on shared computers
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// refuseLogin says the login failed without saying whether the address or the password was wrong; a throttled
// or busy login is told to wait instead, as IMAP tells it (internal/imap/login.go).
func (h *Handler) refuseLogin(w http.ResponseWriter, r *http.Request, address string, err error) {
	status, message, ok := passwordRefusal(err, http.StatusUnauthorized, "login_failed")
	if !ok {
		h.fail(w, r, "login", err)
		return
	}
	h.log.Info("webmail login refused", "user", auth.LogName(address), "reason", err.Error())
	h.showLogin(w, r, status, address, message)
}

// passwordRefusal is how a refused password check is answered, at login and when the password is changed:
// throttled (429), busy (503), or wrong (wrongStatus and wrongWord, which each form words its own way, a disabled
// account as a wrong password); ok is false for any other error, an internal failure.
func passwordRefusal(err error, wrongStatus int, wrongWord string) (status int, word string, ok bool) {
	switch {
	case errors.Is(err, auth.ErrTooManyAttempts):
		return http.StatusTooManyRequests, "login_throttled", true
	case errors.Is(err, auth.ErrBusy):
		return http.StatusServiceUnavailable, "login_busy", true
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrAccountDisabled):
		return wrongStatus, wrongWord, true
	}
	return 0, "", false
}

// logout ends the session in the store and in the browser.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := h.store.RemoveWebSession(sess.token); err != nil {
		h.fail(w, r, "logout", err)
		return
	}
	h.audit(sess.account.Address, "webmail.logout", remoteAddr(r))
	setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// audit records a login or logout; a failure to record is logged, not shown: the user's action has happened.
func (h *Handler) audit(address, action string, remote net.Addr) {
	err := h.store.AddAudit(store.AuditRecord{Actor: address, Action: action, Target: address,
		Detail: "from " + netaddr.Host(remote), From: "webmail"})
	if err != nil {
		h.log.Error("webmail audit", "action", action, "err", err)
	}
}
