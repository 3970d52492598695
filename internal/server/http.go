package server

import (
	"net"
	"net/http"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/autoconfig"
	"mailserver/internal/carddav"
	"mailserver/internal/connlog"
	"mailserver/internal/netaddr"
)

// newHTTPServer builds the HTTP endpoint: /healthz answers when the store can be read, the CardDAV address book
// serves the organisation's directory, and every other path goes to the client autoconfiguration. The same handler
// runs on the plain and the TLS listener; on the plain one the address book (which takes passwords) answers only
// loopback clients, and only when the configuration allows plaintext logins (the dev default). The webmail, under
// /mail/, is guarded the same way: it takes passwords too.
func (s *Server) newHTTPServer(book, webmail http.Handler) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.store.Domains(); err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	guarded := s.requireTLS(book)
	mux.Handle(carddav.WellKnownPath, guarded)
	mux.Handle(carddav.ContextPath, guarded)
	mux.Handle("PROPFIND /{$}", guarded) // clients given only the host name start here
	mux.Handle(webmailPath, s.requireTLS(webmail))
	autoconfig.New(autoconfig.Options{Directory: s.store, MailHost: s.clientMailHost,
		Logger: s.log.With("component", "autoconfig")}).Register(mux)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ConnContext: connlog.ConnContext} // a connection ID on the address book's log lines
}

// webmailPath is where the webmail is served (webmail.Prefix).
const webmailPath = "/mail/"

// requireTLS lets a request through over TLS, or over plain HTTP from loopback when plaintext logins are allowed.
func (s *Server) requireTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil && !(s.cfg.HTTP.AllowInsecureAuth && isLoopbackRequest(r)) {
			http.Error(w, "this page is served over HTTPS only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackRequest(r *http.Request) bool {
	addr, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	return err == nil && netaddr.IsLoopback(addr)
}

// clientMailHost is the server as the client of r reaches it, from the listeners as bound (a configured port 0 has
// become a real one): the public listeners, as 'mailserver domain dns' publishes them, and for a client on this
// machine the loopback-only ones too.
func (s *Server) clientMailHost(r *http.Request) admin.MailHost {
	bound := admin.ClientListeners{Submission: s.Addr("submission"), Submissions: s.Addr("submissions"),
		IMAP: s.Addr("imap"), IMAPS: s.Addr("imaps"), HTTPS: s.Addr("https")}
	return admin.MailHostOn(s.cfg, bound, isLoopbackRequest(r))
}
