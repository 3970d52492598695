// Package webmail is the webmail served under /mail/ on the HTTPS listener: log in, the folder list, a folder's
// messages and reading one. It works on the store directly, through the same store functions as IMAP (sort
// records for the order, the flag path for \Seen, the grants for shared mailboxes), never through a protocol
// loopback. Pages are server-rendered with html/template under a strict Content-Security-Policy: no script, no
// inline style, nothing from another origin.
package webmail

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
)

// Prefix is the path the handler serves under.
const Prefix = "/mail/"

// DefaultIdleTimeout ends a session no request has used for this long.
const DefaultIdleTimeout = 30 * time.Minute

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Authenticator checks a login: the one IMAP uses (internal/imap's Authenticator), implemented by auth.Counted.
type Authenticator interface {
	Authenticate(remote net.Addr, username, password string) (store.Account, error)
}

// Options configure New.
type Options struct {
	Store       *store.Store
	Auth        Authenticator
	IdleTimeout time.Duration // 0: DefaultIdleTimeout
	Logger      *slog.Logger  // nil: slog.Default()
	// Deliverer sends what the user writes, through the same seam as submission; nil: no writing (compose.go).
	Deliverer *delivery.Deliverer
	// MaxMessageSize bounds a written message, attachments included ([smtp] max_message_size); 0: 50 MB.
	MaxMessageSize int64
	// ChangePassword stores a user's new password once the settings page has checked the current one
	// (admin.Service.ChangeOwnPassword: the CLI's rules, hash and audit); nil: no password change.
	ChangePassword func(address, password, origin string) error
	// CompileSieve compiles a user's script as delivery runs it (admin.Service.CompileSieve); nil: no automatic
	// reply in the settings.
	CompileSieve func(store.Account, []byte) (*sieve.Script, error)
	SieveLimits  store.SieveLimits // of the automatic reply's script ([sieve] limits)
}

// Handler serves the webmail. Mount it at Prefix.
type Handler struct {
	store *store.Store  // immutable
	auth  Authenticator // immutable
	idle  time.Duration // immutable
	log   *slog.Logger  // immutable
	pages *template.Template
	mux   *http.ServeMux
	send  *delivery.Deliverer // immutable; nil: writing is off
	max   int64               // immutable: the largest message written here
	// orders keeps the recently listed folders in order (order.go).
	orders *orderCache

	settings settings // immutable (settings.go)
}

// New returns the webmail handler.
func New(o Options) (*Handler, error) {
	if o.Store == nil || o.Auth == nil {
		return nil, fmt.Errorf("webmail: a store and an authenticator are required")
	}
	h := &Handler{store: o.Store, auth: o.Auth, idle: o.IdleTimeout, log: o.Logger, orders: newOrderCache()}
	if h.idle <= 0 {
		h.idle = DefaultIdleTimeout
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	var err error
	h.pages, err = template.New("").Funcs(templateFuncs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("webmail: templates: %w", err)
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("webmail: static files: %w", err)
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET "+Prefix+"static/{name}", h.staticFile(static))
	h.mux.HandleFunc("GET "+Prefix+"login", h.loginForm)
	h.mux.HandleFunc("POST "+Prefix+"login", h.login)
	h.mux.HandleFunc("GET "+Prefix+"lang", h.setLanguage)
	h.mux.HandleFunc("POST "+Prefix+"logout", h.withSession(h.logout))
	h.mux.HandleFunc("GET "+Prefix+"{$}", h.withSession(h.folders))
	h.mux.HandleFunc("GET "+Prefix+"list", h.withSession(h.list))
	h.mux.HandleFunc("GET "+Prefix+"read", h.withSession(h.read))
	h.mux.HandleFunc("GET "+Prefix+"html", h.withSession(h.html))
	h.mux.HandleFunc("GET "+Prefix+"part", h.withSession(h.part))
	h.mux.HandleFunc("GET "+Prefix+"search", h.withSession(h.search))
	h.mux.HandleFunc("POST "+Prefix+"act", h.withSession(h.act))
	h.mux.HandleFunc("GET "+Prefix+"contacts", h.withSession(h.contacts))
	h.send, h.max = o.Deliverer, o.MaxMessageSize
	h.routeCompose()
	h.routeSettings(o)
	h.mux.HandleFunc("GET "+Prefix+"raw", h.withSession(h.raw))
	return h, nil
}

// ServeHTTP implements http.Handler: every response, errors and static files included, carries the security
// headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	h.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows this origin's style sheet, its one script (mail.js, progressive: every page works
// without it), its images and its framed documents (a message's HTML body, in a sandbox of its own: parts.go), and
// nothing else: no inline script or style, no frame around the pages (CSP Level 3; frame-ancestors supersedes
// X-Frame-Options, which old browsers still read).
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; " +
	"script-src 'self'; connect-src 'self'" // mail.js only: no inline script, no eval

func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store") // mail on a shared computer must not stay in its cache
}

// render writes a page; a template error after the first byte can only be logged.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := h.pages.ExecuteTemplate(w, name, data); err != nil {
		h.log.Warn("webmail page", "page", name, "err", err)
	}
}

// staticFile serves the embedded style sheet. A missing file gets the webmail's own 404 page: the file server's
// error path drops Cache-Control.
func (h *Handler) staticFile(files fs.FS) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if _, err := fs.Stat(files, name); err != nil {
			h.render(w, http.StatusNotFound, "error", h.basePage(r, nil, "error_not_found"))
			return
		}
		http.ServeFileFS(w, r, files, name)
	}
}

// fail answers an internal error with a generic page and logs the cause.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.Error("webmail "+what, "err", err)
	h.render(w, http.StatusInternalServerError, "error", h.basePage(r, nil, "error_internal"))
}

func remoteAddr(r *http.Request) net.Addr {
	addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return &net.TCPAddr{}
	}
	return addr
}
