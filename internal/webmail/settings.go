package webmail

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/netaddr"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
	"mailserver/internal/vacation"
)

// auditOrigin is the From of the audit records of changes users make in the webmail.
const auditOrigin = "webmail"

// settings is what the settings page needs from the rest of the server (Options).
type settings struct {
	changePassword func(address, password, origin string) error             // nil: no password change
	compileSieve   func(a store.Account, src []byte) (*sieve.Script, error) // nil: no automatic reply
	sieveLimits    store.SieveLimits
}

func (h *Handler) routeSettings(o Options) {
	h.settings = settings{changePassword: o.ChangePassword, compileSieve: o.CompileSieve, sieveLimits: o.SieveLimits}
	h.mux.HandleFunc("GET "+Prefix+"settings", h.withSession(h.settingsPage))
	h.mux.HandleFunc("POST "+Prefix+"settings/password", h.withSession(h.changePassword))
	h.mux.HandleFunc("POST "+Prefix+"settings/vacation", h.withSession(h.setVacation))
}

type settingsPageData struct {
	page
	CanChangePassword bool
	MinPassword       int
	CanVacation       bool
	VacationOn        bool
	Vacation          vacationForm
}

// vacationForm is the automatic reply form as submitted (dates as the date inputs send them: yyyy-mm-dd).
type vacationForm struct {
	From, Until, Subject, Message string
}

// settingsNotices are the notices a redirect after a change names in its "done" parameter.
var settingsNotices = map[string]string{
	"password": "settings_password_changed",
	"on":       "settings_vacation_on",
	"off":      "settings_vacation_off",
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	h.showSettings(w, r, sess, http.StatusOK, settingsNotices[r.URL.Query().Get("done")], vacationForm{})
}

func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, sess *session, status int, notice string,
	form vacationForm) {
	active, _, err := h.store.ActiveSieveScript(sess.account.ID)
	if err != nil {
		h.fail(w, r, "settings", err)
		return
	}
	h.render(w, status, "settings", settingsPageData{page: h.basePage(r, sess, notice),
		CanChangePassword: h.settings.changePassword != nil, MinPassword: auth.MinPasswordLength,
		CanVacation: h.settings.compileSieve != nil, VacationOn: active == vacation.ScriptName, Vacation: form})
}

// changePassword checks the current password with the shared Authenticator (its throttle included), stores the
// new one through the administration's path (strength rules, hash, audit), which ends every webmail session of
// the account, and gives this browser a fresh one: whoever knew the old password is out, the user is not.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	if h.settings.changePassword == nil {
		h.notFound(w, r, sess)
		return
	}
	current, next := r.PostFormValue("current"), r.PostFormValue("new")
	addr := sess.account.Address
	if _, err := h.auth.Authenticate(remoteAddr(r), addr, current); err != nil {
		status, notice, ok := passwordRefusal(err, http.StatusForbidden, "settings_wrong_password")
		if !ok {
			h.fail(w, r, "settings password", err)
			return
		}
		h.showSettings(w, r, sess, status, notice, vacationForm{})
		return
	}
	if next != r.PostFormValue("confirm") {
		h.showSettings(w, r, sess, http.StatusBadRequest, "settings_password_mismatch", vacationForm{})
		return
	}
	err := h.settings.changePassword(addr, next, auditOrigin)
	if errors.Is(err, admin.ErrInvalid) { // the CLI's rules: auth.CheckPasswordStrength and no control characters
		h.showSettings(w, r, sess, http.StatusBadRequest, "settings_password_weak", vacationForm{})
		return
	} else if err != nil {
		h.fail(w, r, "settings password", err)
		return
	}
	token, csrf := newToken(), newToken()
	if _, err := h.store.AddWebSession(token, sess.account.ID, csrf); err != nil {
		h.fail(w, r, "settings password", err)
		return
	}
	h.log.Info("webmail password changed", "account", addr, "remote", netaddr.Host(remoteAddr(r)))
	setCookie(w, sessionCookie, token, 0)
	http.Redirect(w, r, Prefix+"settings?done=password", http.StatusSeeOther)
}

// setVacation turns the automatic reply on or off, writing the same script as `mailserver vacation set` does.
func (h *Handler) setVacation(w http.ResponseWriter, r *http.Request, sess *session) {
	if h.settings.compileSieve == nil {
		h.notFound(w, r, sess)
		return
	}
	if r.PostFormValue("on") != "1" {
		if err := h.vacationOff(sess.account); err != nil {
			h.fail(w, r, "settings vacation", err)
			return
		}
		http.Redirect(w, r, Prefix+"settings?done=off", http.StatusSeeOther)
		return
	}
	form := vacationForm{From: r.PostFormValue("from"), Until: r.PostFormValue("until"),
		Subject: strings.TrimSpace(r.PostFormValue("subject")), Message: r.PostFormValue("message")}
	s, ok := form.settings()
	if !ok {
		h.showSettings(w, r, sess, http.StatusBadRequest, "settings_vacation_dates", form)
		return
	}
	err := h.vacationOn(sess.account, s)
	switch {
	case errors.Is(err, errScriptRefused), errors.Is(err, store.ErrSieveQuota):
		h.log.Info("webmail automatic reply refused", "account", sess.account.Address, "err", err)
		h.showSettings(w, r, sess, http.StatusBadRequest, "settings_vacation_refused", form)
	case err != nil:
		h.fail(w, r, "settings vacation", err)
	default:
		http.Redirect(w, r, Prefix+"settings?done=on", http.StatusSeeOther)
	}
}

// settings reads the form's dates (empty: no bound); ok is false for a date that is none or a reply that would
// end before it starts.
func (f vacationForm) settings() (s vacation.Settings, ok bool) {
	s = vacation.Settings{Subject: f.Subject, Message: f.Message}
	for _, d := range []struct {
		in  string
		out *time.Time
	}{{f.From, &s.From}, {f.Until, &s.Until}} {
		if d.in == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.in)
		if err != nil {
			return s, false
		}
		*d.out = t
	}
	return s, s.From.IsZero() || s.Until.IsZero() || !s.Until.Before(s.From)
}
