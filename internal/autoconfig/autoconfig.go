// Package autoconfig tells mail clients how to reach this server, so that staff who type only their address and
// password into Thunderbird, Outlook or an iPhone get a working account. It describes the server's client settings
// in each client's format and serves them over HTTP:
//
//	GET  /mail/config-v1.1.xml[?emailaddress=A]                        Thunderbird (clientConfig v1.1)
//	GET  /.well-known/autoconfig/mail/config-v1.1.xml[?emailaddress=A] Thunderbird, on the domain itself
//	GET  /.well-known/mail-v1.xml[?emailaddress=A]                     the same, where newer clients ask
//	POST /autodiscover/autodiscover.xml                                Outlook, Autodiscover POX (any case of the path)
//	GET  /autodiscover/autodiscover.json?Email=A&Protocol=AutodiscoverV1         Outlook, Autodiscover v2
//	GET  /autodiscover/autodiscover.json/v1.0/A?Protocol=AutodiscoverV1          the same
//	GET  /mail/apple                                                   a page where staff type their address
//	GET  /mail/apple/A.mobileconfig                                    Apple configuration profile (mail, address book)
//
// The settings come from the server's listeners (admin.MailHost, the same facts 'mailserver domain dns'
// publishes): implicit TLS first, STARTTLS second (RFC 8314 section 3), the full address as the user name, a
// plain password over TLS. Nothing in them is secret, so they are served on the plain HTTP listener too, where
// Thunderbird asks first.
//
// Every answer is decided by the address's domain alone: a domain not served here gets 404, an address that is
// not one 400, and whether an account exists is never looked up, so these endpoints cannot be used to find out.
// For the same domain every form answers the same, with or without the address (Thunderbird's URL without
// ?emailaddress= names the domain in the Host header, autoconfig.DOMAIN).
package autoconfig

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"mailserver/internal/address"
	"mailserver/internal/admin"
)

// Directory tells which domains this server serves. *store.Store implements it.
type Directory interface {
	HasDomain(name string) (bool, error)
}

// Options configure a Handler.
type Options struct {
	Directory Directory
	// MailHost is the server as the client of r reaches it: a running server offers its loopback-only listeners
	// to clients on the same machine as well.
	MailHost func(r *http.Request) admin.MailHost
	Logger   *slog.Logger
}

// Handler serves every autoconfiguration form (mount it with Register): it answers the paths above and 404 to the
// rest.
type Handler struct {
	opts Options
	mux  *http.ServeMux
}

// Paths of the Outlook endpoints as this package routes them; clients may write them in any case.
const (
	autodiscoverDir = "/autodiscover/"
	poxPath         = autodiscoverDir + "autodiscover.xml"
	jsonPath        = autodiscoverDir + "autodiscover.json"
	applePagePath   = "/mail/apple"
	profileSuffix   = ".mobileconfig"
)

// New builds the handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	for _, p := range []string{"/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml",
		"/.well-known/mail-v1.xml"} {
		h.mux.HandleFunc("GET "+p, h.serveThunderbird)
	}
	h.mux.HandleFunc("POST "+poxPath, h.serveOutlookPOX)
	h.mux.HandleFunc("GET "+jsonPath, h.serveOutlookJSON)
	h.mux.HandleFunc("GET "+jsonPath+"/v1.0/{address}", h.serveOutlookJSON)
	h.mux.HandleFunc("GET "+applePagePath, h.serveApplePage)
	h.mux.HandleFunc("GET "+applePagePath+"/{file}", h.serveAppleProfile)
	return h
}

// Register mounts the handler on mux: on "/", since Outlook's paths come in any case and no pattern matches them
// all, and on its paths under /mail/ by name, so that they keep winning over a handler later mounted on /mail/
// (ServeMux prefers the most specific pattern).
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range []string{"/", "/mail/config-v1.1.xml", applePagePath, applePagePath + "/"} {
		mux.Handle(p, h)
	}
}

// ServeHTTP routes a request; the Autodiscover paths are matched without regard to case, since Outlook writes
// /Autodiscover/Autodiscover.xml and the protocol says the URL is not case-sensitive ([MS-OXDISCO] 2.2.1).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := foldAutodiscoverPath(r.URL.Path); p != r.URL.Path {
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = p, ""
		r2.URL = &u
		r = &r2
	}
	h.mux.ServeHTTP(w, r)
}

// foldAutodiscoverPath lower-cases the first two segments of a path under /autodiscover/ (the part that names
// the endpoint), leaving what follows, such as an address, as it is.
func foldAutodiscoverPath(p string) string {
	if len(p) < len(autodiscoverDir) || !strings.EqualFold(p[:len(autodiscoverDir)], autodiscoverDir) {
		return p
	}
	end := len(p)
	if i := strings.IndexByte(p[len(autodiscoverDir):], '/'); i >= 0 {
		end = len(autodiscoverDir) + i
	}
	return strings.ToLower(p[:end]) + p[end:]
}

// requestError is why a request gets no settings, in words for each kind of answer.
type requestError struct {
	status     int
	code       string // for Autodiscover v2's JSON ErrorCode
	english    string
	vietnamese string // for the page people read
}

func (e *requestError) Error() string { return e.english }

func badAddress(s string) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "InvalidEmailAddress",
		english:    "not a mail address: " + clip(s),
		vietnamese: "Không phải địa chỉ thư: " + clip(s)}
}

func unknownDomain(domain string) *requestError {
	return &requestError{status: http.StatusNotFound, code: "DomainNotFound",
		english:    "this server serves no mail domain " + clip(domain),
		vietnamese: "Máy chủ này không phục vụ tên miền " + clip(domain)}
}

// notOffered: the client's network reaches no IMAP or no submission listener (off, or on loopback only), so
// there is nothing working to configure; a client that gets 404 goes on to its other ways of finding settings.
var notOffered = &requestError{status: http.StatusNotFound, code: "NotOffered",
	english:    "this server offers no IMAP or no mail submission to your network",
	vietnamese: "Máy chủ này chưa mở IMAP hoặc gửi thư cho mạng của bạn"}

var internalError = &requestError{status: http.StatusInternalServerError, code: "InternalServerError",
	english: "internal error; try again later", vietnamese: "Lỗi máy chủ; xin thử lại sau"}

// clip bounds a client's text repeated in an answer.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// servedAddress parses s as a mail address whose domain this server serves.
func (h *Handler) servedAddress(s string) (address.Address, *requestError) {
	a, err := address.Parse(s)
	if err != nil {
		return address.Address{}, badAddress(s)
	}
	if _, rerr := h.servedDomain(a.Domain); rerr != nil {
		return address.Address{}, rerr
	}
	return a, nil
}

// servedDomain checks that domain (in A-label form) is one this server serves.
func (h *Handler) servedDomain(domain string) (string, *requestError) {
	ok, err := h.opts.Directory.HasDomain(domain)
	if err != nil {
		h.opts.Logger.Error("autoconfig: reading the domains", "err", err)
		return "", internalError
	}
	if !ok {
		return "", unknownDomain(domain)
	}
	return domain, nil
}

// hostDomain is the mail domain a request names in its Host header: autoconfig.DOMAIN (the name Thunderbird asks)
// or DOMAIN itself (its /.well-known/ URL).
func hostDomain(r *http.Request) (string, *requestError) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	d, err := address.ParseDomain(strings.TrimPrefix(host, "autoconfig."))
	if err != nil {
		return "", &requestError{status: http.StatusBadRequest, code: "InvalidRequest",
			english:    "give ?emailaddress=ADDRESS, or ask autoconfig.DOMAIN",
			vietnamese: "Cần ?emailaddress=ĐỊA-CHỈ, hoặc hỏi autoconfig.TÊN-MIỀN"}
	}
	return d, nil
}

// settings are the client settings for the client of r, or notOffered when they would not work.
func (h *Handler) settings(r *http.Request) (settings, *requestError) {
	s := settingsFor(h.opts.MailHost(r))
	if len(s.IMAP) == 0 || len(s.SMTP) == 0 {
		return settings{}, notOffered
	}
	return s, nil
}

// settingsAfter is settings for a request that got past resolving its address or domain (rerr nil); otherwise,
// or when there are no settings, it answers with the error as plain text and returns false.
func (h *Handler) settingsAfter(w http.ResponseWriter, r *http.Request, rerr *requestError) (settings, bool) {
	var s settings
	if rerr == nil {
		s, rerr = h.settings(r)
	}
	if rerr != nil {
		fail(w, rerr)
		return settings{}, false
	}
	return s, true
}

// fail answers with err as plain text, for the forms whose clients have no error format of their own.
func fail(w http.ResponseWriter, err *requestError) {
	http.Error(w, err.english, err.status)
}
