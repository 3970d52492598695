// Package carddav serves the global address book ("Danh bạ cơ quan") read-only over CardDAV (RFC 6352): every
// enabled account, every distribution group and every shared mailbox of the directory, so that Thunderbird, phones
// and other CardDAV clients can autocomplete any colleague. Cards are built from the store on every request, so a
// change to the directory shows on the clients' next sync; nothing is cached.
//
// # URLs
//
//	/.well-known/carddav                     301 to /carddav/ (RFC 6764 §5)
//	/carddav/                                context path: current-user-principal
//	/carddav/principals/{address}/           the logged-in user's principal: addressbook-home-set
//	/carddav/addressbooks/                   the address-book home, the same for everyone
//	/carddav/addressbooks/gal/               the one address book
//	/carddav/addressbooks/gal/{uuid}.vcf     one card per account, group or shared mailbox
//
// Mount the handler on "/.well-known/carddav" and "/carddav/"; mounting it for "PROPFIND /" as well lets clients
// that are given only the server's host name find the principal on their first request.
//
// # Reading the source
//
// ServeHTTP (this file) authenticates, refuses writes and routes; propfind.go answers PROPFIND for every resource
// itself; REPORT (addressbook-query, addressbook-multiget) and GET go to go-webdav's carddav.Handler over the
// read-only backend in backend.go; cards.go turns the directory into vCards; match.go evaluates query filters.
//
// # Caveats
//
//   - PROPFIND is answered here rather than by go-webdav, which in v0.6.0 returns the principal's href for the
//     context path, lists no DAV:current-user-privilege-set (clients then offer editing, and every edit fails) and
//     no getctag. Depth: infinity is answered as Depth: 1.
//   - No sync-token (RFC 6578): go-webdav's server has no sync-collection REPORT. Clients fall back to comparing
//     the getctag, then the ETags of a Depth: 1 PROPFIND, and fetch changed cards with addressbook-multiget.
//   - vCard 3.0 is served unless the client asks for 4.0 (address-data version="4.0" in a REPORT, or Accept:
//     text/vcard;version=4.0 on GET): iOS reads only 3.0. KIND exists only in 4.0, so 3.0 cards carry no kind.
//   - ETags are derived from the directory entry, not from the served bytes, so that both versions of a card share
//     one ETag: clients compare PROPFIND ETags (which cannot know the version) with those of their last REPORT.
//   - Groups are cards with KIND:group and the group's own address, without MEMBER properties: clients are to
//     address the list, and the server expands it.
//   - Credentials travel in HTTP Basic authentication on every request, so the server must serve this handler over
//     TLS only (the HTTP listener does in production). Every request verifies the password (argon2id, ~50 ms).
package carddav

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/emersion/go-webdav"
	gocarddav "github.com/emersion/go-webdav/carddav"

	"mailserver/internal/auth"
	"mailserver/internal/connlog"
	"mailserver/internal/store"
)

// Directory is what the address book reads from the store. *store.Store implements it.
type Directory interface {
	Accounts() ([]store.Account, error)
	Units() ([]store.Unit, error)
	Groups() ([]store.Group, error)
}

// Authenticator checks HTTP Basic credentials. *auth.Authenticator implements it; errors other than
// auth.ErrInvalidCredentials, auth.ErrAccountDisabled and auth.ErrTooManyAttempts are internal failures.
type Authenticator interface {
	Authenticate(remote net.Addr, username, password string) (store.Account, error)
}

var (
	_ Directory     = (*store.Store)(nil)
	_ Authenticator = (*auth.Authenticator)(nil)
)

// Paths served; see the package documentation.
const (
	WellKnownPath  = "/.well-known/carddav"
	ContextPath    = "/carddav/"
	principalsPath = ContextPath + "principals/"
	homeSetPath    = ContextPath + "addressbooks/"
	bookPath       = homeSetPath + "gal/"
)

const (
	bookName        = "Danh bạ cơ quan"
	bookDescription = "Danh bạ toàn cơ quan: mọi cán bộ, nhóm thư và hộp thư dùng chung (chỉ đọc)"
	realm           = `Basic realm="CardDAV", charset="UTF-8"` // RFC 7617 §2.1: user names and passwords are UTF-8
)

// handler is the http.Handler returned by NewHandler.
type handler struct {
	dir  Directory     // immutable
	auth Authenticator // immutable
	log  *slog.Logger  // immutable
	dav  http.Handler  // go-webdav's carddav.Handler over backend; immutable
}

// NewHandler returns the read-only CardDAV handler for the global address book; see the package documentation for
// its URLs. Every request needs HTTP Basic credentials that auth accepts.
func NewHandler(dir Directory, auth Authenticator, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("module", "carddav")
	return &handler{
		dir:  dir,
		auth: auth,
		log:  logger,
		dav:  &gocarddav.Handler{Backend: &backend{}, Prefix: strings.TrimSuffix(ContextPath, "/")},
	}
}

// request is what one HTTP request carries through go-webdav to the backend, in its context.
type request struct {
	account store.Account // the authenticated user
	version string        // vCard version to serve: version3 or version4
	// snapshot reads the directory on first use; its error is logged and safe to show to the client.
	snapshot func() (*snapshot, error)
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	req, _ := ctx.Value(requestKey{}).(*request)
	return req
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !ours(r) {
		http.NotFound(w, r)
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	req := &request{account: acct, version: version3, snapshot: sync.OnceValues(func() (*snapshot, error) {
		snap, err := loadSnapshot(h.dir)
		if err != nil {
			ref := logInternal(h.requestLog(r), err, "method", r.Method, "path", r.URL.Path)
			return nil, webdav.NewHTTPError(http.StatusInternalServerError, errors.New("internal server error (ref "+ref+")"))
		}
		return snap, nil
	})}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))

	if r.URL.Path == WellKnownPath {
		http.Redirect(w, r, ContextPath, http.StatusMovedPermanently)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		h.serveOptions(w)
	case "PROPFIND":
		h.servePropfind(w, r, req)
	case http.MethodGet, http.MethodHead:
		req.version = acceptedVersion(r.Header.Values("Accept"))
		h.dav.ServeHTTP(w, r)
	case "REPORT":
		if err := prepareReport(w, r, req); err != nil {
			http.Error(w, err.Error(), httpStatus(err))
			return
		}
		h.dav.ServeHTTP(w, r)
	case http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch,
		"MKCOL", "PROPPATCH", "MOVE", "COPY", "LOCK", "UNLOCK", "ACL", "MKCALENDAR":
		// RFC 3744 §7.1.1: the user lacks the write privilege; PROPFIND reports only read in
		// current-user-privilege-set, so well-behaved clients never try.
		http.Error(w, "the address book is read-only: the directory is managed by the mail administrator",
			http.StatusForbidden)
	default:
		w.Header().Set("Allow", allowed)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

const allowed = "OPTIONS, GET, HEAD, PROPFIND, REPORT"

// ours reports whether the path belongs to this handler, so that stray requests cost no password check.
func ours(r *http.Request) bool {
	p := r.URL.Path
	return p == WellKnownPath || p+"/" == ContextPath || strings.HasPrefix(p, ContextPath) ||
		p == "/" && r.Method == "PROPFIND"
}

func (h *handler) serveOptions(w http.ResponseWriter) {
	w.Header().Set("DAV", "1, 3, addressbook") // RFC 6352 §6.1
	w.Header().Set("Allow", allowed)
	w.WriteHeader(http.StatusNoContent)
}

// authenticate checks the request's Basic credentials; when it returns false it has written the reply.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	user, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", realm)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return store.Account{}, false
	}
	acct, err := h.auth.Authenticate(remoteAddr(r), user, password)
	switch {
	case err == nil:
		return acct, true
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrAccountDisabled):
		// The same reply for both, as in SMTP and IMAP: no hint which accounts exist or are disabled.
		h.requestLog(r).Info("login failed", "user", auth.LogName(user), "code", http.StatusUnauthorized,
			"reason", err.Error())
		w.Header().Set("WWW-Authenticate", realm)
		http.Error(w, "invalid user name or password", http.StatusUnauthorized)
	case errors.Is(err, auth.ErrBusy):
		h.requestLog(r).Warn("login not checked: every password check slot busy", "user", auth.LogName(user),
			"code", http.StatusServiceUnavailable)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "busy checking other logins, try again in a few seconds", http.StatusServiceUnavailable)
	case errors.Is(err, auth.ErrTooManyAttempts):
		h.requestLog(r).Warn("login throttled", "user", auth.LogName(user), "code", http.StatusTooManyRequests)
		http.Error(w, "too many failed login attempts, try again later", http.StatusTooManyRequests)
	default:
		h.internalError(w, r, err)
	}
	return store.Account{}, false
}

// requestLog is the log for a request's lines: its connection's ID (connlog.ConnContext) and the client's address.
func (h *handler) requestLog(r *http.Request) *slog.Logger {
	return connlog.Logger(r.Context(), h.log).With("remote", r.RemoteAddr)
}

func remoteAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// internalError logs err under a fresh reference and replies 500 with only that reference.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	ref := logInternal(h.requestLog(r), err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, "internal server error (ref "+ref+")", http.StatusInternalServerError)
}

// logInternal logs err with a reference that the client's reply quotes, and returns the reference.
func logInternal(log *slog.Logger, err error, args ...any) string {
	ref := rand.Text()[:10]
	log.Error("internal error", append([]any{"ref", ref, "err", err}, args...)...)
	return ref
}

// statusError is a client error with its HTTP status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func httpStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return http.StatusInternalServerError
}

// vCard versions served.
const (
	version3 = "3.0"
	version4 = "4.0"
)
