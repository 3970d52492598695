package autoconfig

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"mailserver/internal/address"
	"mailserver/internal/carddav"
)

// profileNamespace keeps this package's UUIDs apart from any other names hashed the same way.
const profileNamespace = "mailserver/autoconfig/apple-profile"

// serveAppleProfile answers /mail/apple/ADDRESS.mobileconfig with an unsigned configuration profile: the mail
// account (com.apple.mail.managed) and the address book (com.apple.carddav.account), without any password; the
// device asks for it while installing.
func (h *Handler) serveAppleProfile(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutSuffix(r.PathValue("file"), profileSuffix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	a, rerr := h.servedAddress(raw)
	s, ok := h.settingsAfter(w, r, rerr)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": a.Key() + profileSuffix}))
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(encodePlist(appleProfile(a, s)))
}

// profilePath is where the profile of a is served.
func profilePath(a address.Address) string {
	return applePagePath + "/" + url.PathEscape(a.Key()) + profileSuffix
}

// appleProfile is the profile for a. Its identifiers and UUIDs derive from the address alone, so installing it
// again replaces the installed one instead of adding a second account.
func appleProfile(a address.Address, s settings) plistDict {
	addr := a.Key()
	id := reverseDNS(a.Domain) + ".mail." + stableUUID(profileNamespace, "identifier", addr)
	payloads := []plistDict{mailPayload(addr, id, s)}
	if s.HTTPS > 0 {
		payloads = append(payloads, addressBookPayload(addr, id, s))
	}
	return plistDict{
		{"PayloadContent", payloads},
		{"PayloadDescription", "Thư công vụ và danh bạ cơ quan của " + addr + ". " +
			"Mail and the organisation's address book for " + addr + "."},
		{"PayloadDisplayName", "Thư công vụ " + addr},
		{"PayloadIdentifier", id},
		{"PayloadOrganization", a.Domain},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", stableUUID(profileNamespace, "profile", addr)},
		{"PayloadVersion", 1},
	}
}

// mailPayload configures the IMAP account: the most preferred IMAP and submission endpoints (implicit TLS where
// offered), password authentication with the full address, one password for both.
func mailPayload(addr, id string, s settings) plistDict {
	in, out := s.IMAP[0], s.SMTP[0]
	return plistDict{
		{"EmailAccountDescription", addr},
		{"EmailAccountType", "EmailTypeIMAP"},
		{"EmailAddress", addr},
		{"IncomingMailServerAuthentication", "EmailAuthPassword"},
		{"IncomingMailServerHostName", in.Host},
		{"IncomingMailServerPortNumber", in.Port},
		{"IncomingMailServerUseSSL", true},
		{"IncomingMailServerUsername", addr},
		{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
		{"OutgoingMailServerHostName", out.Host},
		{"OutgoingMailServerPortNumber", out.Port},
		{"OutgoingMailServerUseSSL", true},
		{"OutgoingMailServerUsername", addr},
		{"OutgoingPasswordSameAsIncomingPassword", true},
		{"PayloadDescription", "Thư công vụ (IMAP, SMTP) / Official mail"},
		{"PayloadDisplayName", "Thư công vụ"},
		{"PayloadIdentifier", id + ".imap"},
		{"PayloadType", "com.apple.mail.managed"},
		{"PayloadUUID", stableUUID(profileNamespace, "mail", addr)},
		{"PayloadVersion", 1},
	}
}

// addressBookPayload configures the read-only CardDAV address book on the HTTPS listener.
func addressBookPayload(addr, id string, s settings) plistDict {
	return plistDict{
		{"CardDAVAccountDescription", "Danh bạ cơ quan"},
		{"CardDAVHostName", s.Host},
		{"CardDAVPort", s.HTTPS},
		{"CardDAVPrincipalURL", carddav.ContextPath},
		{"CardDAVUseSSL", true},
		{"CardDAVUsername", addr},
		{"PayloadDescription", "Danh bạ cơ quan (CardDAV) / The organisation's address book"},
		{"PayloadDisplayName", "Danh bạ cơ quan"},
		{"PayloadIdentifier", id + ".carddav"},
		{"PayloadType", "com.apple.carddav.account"},
		{"PayloadUUID", stableUUID(profileNamespace, "carddav", addr)},
		{"PayloadVersion", 1},
	}
}

// reverseDNS writes a domain the way payload identifiers start: gov.vn.vinhyen for vinhyen.gov.vn.
func reverseDNS(domain string) string {
	labels := strings.Split(domain, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

//go:embed apple.html
var applePageHTML string

var applePage = template.Must(template.New("apple").Parse(applePageHTML))

// pageStyle is the page's only style; the Content-Security-Policy allows exactly it, and no script at all.
const pageStyle = `body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;max-width:40rem;padding:1rem}` +
	`input,button{font-size:1.1rem;padding:.5rem;margin:.25rem 0;width:100%;box-sizing:border-box}` +
	`.problem{color:#a00;font-weight:bold}section{border-top:1px solid #ccc;margin-top:2rem}`

var pagePolicy = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

type pageData struct {
	Style                template.CSS
	Address              string
	ProblemVI, ProblemEN string
}

// serveApplePage shows the form; with ?address= it sends the browser to that address's profile, or shows the form
// again saying what is wrong.
func (h *Handler) serveApplePage(w http.ResponseWriter, r *http.Request) {
	typed := strings.TrimSpace(r.URL.Query().Get("address"))
	if typed == "" {
		writePage(w, http.StatusOK, pageData{})
		return
	}
	a, rerr := h.servedAddress(typed)
	if rerr != nil {
		writePage(w, rerr.status, pageData{Address: clip(typed), ProblemVI: rerr.vietnamese, ProblemEN: rerr.english})
		return
	}
	http.Redirect(w, r, profilePath(a), http.StatusSeeOther)
}

func writePage(w http.ResponseWriter, status int, d pageData) {
	d.Style = template.CSS(pageStyle)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pagePolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	applePage.Execute(w, d)
}
