package autoconfig

import (
	"encoding/xml"
	"net/http"
)

// The Mozilla ISPDB clientConfig format, version 1.1, as Thunderbird reads it (its "Autoconfiguration" file
// format): one emailProvider with the incoming and outgoing servers in order of preference, and the address book
// beside it.
type clientConfig struct {
	XMLName     xml.Name      `xml:"clientConfig"`
	Version     string        `xml:"version,attr"`
	Provider    emailProvider `xml:"emailProvider"`
	AddressBook *addressBook  `xml:"addressBook,omitempty"`
}

type emailProvider struct {
	ID               string      `xml:"id,attr"`
	Domain           string      `xml:"domain"`
	DisplayName      string      `xml:"displayName"`
	DisplayShortName string      `xml:"displayShortName"`
	Incoming         []mozServer `xml:"incomingServer"`
	Outgoing         []mozServer `xml:"outgoingServer"`
}

type mozServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
}

type addressBook struct {
	Type           string `xml:"type,attr"`
	Username       string `xml:"username"`
	Authentication string `xml:"authentication"`
	ServerURL      string `xml:"serverURL"`
}

// The client replaces this placeholder with the address the user typed: the answer names no account.
const emailAddressPlaceholder = "%EMAILADDRESS%"

// serveThunderbird answers Thunderbird's request for the settings of a domain, named by ?emailaddress= or, without
// it, by the Host header.
func (h *Handler) serveThunderbird(w http.ResponseWriter, r *http.Request) {
	domain, rerr := h.thunderbirdDomain(r)
	s, ok := h.settingsAfter(w, r, rerr)
	if !ok {
		return
	}
	writeXML(w, "application/xml; charset=utf-8", http.StatusOK, thunderbirdConfig(domain, s))
}

func (h *Handler) thunderbirdDomain(r *http.Request) (string, *requestError) {
	if addr := r.URL.Query().Get("emailaddress"); addr != "" {
		a, rerr := h.servedAddress(addr)
		return a.Domain, rerr
	}
	d, rerr := hostDomain(r)
	if rerr != nil {
		return "", rerr
	}
	return h.servedDomain(d)
}

// thunderbirdConfig is the clientConfig for domain: passwords in clear text, which is safe because every listed
// server speaks TLS before the login ("password-cleartext" names the SASL mechanism, PLAIN or LOGIN).
func thunderbirdConfig(domain string, s settings) clientConfig {
	cfg := clientConfig{Version: "1.1", Provider: emailProvider{ID: domain, Domain: domain, DisplayName: domain,
		DisplayShortName: domain}}
	for _, e := range s.IMAP {
		cfg.Provider.Incoming = append(cfg.Provider.Incoming, mozServerFor("imap", e))
	}
	for _, e := range s.SMTP {
		cfg.Provider.Outgoing = append(cfg.Provider.Outgoing, mozServerFor("smtp", e))
	}
	if u := s.addressBookURL(); u != "" {
		cfg.AddressBook = &addressBook{Type: "carddav", Username: emailAddressPlaceholder,
			Authentication: "http-basic", ServerURL: u}
	}
	return cfg
}

func mozServerFor(typ string, e endpoint) mozServer {
	socket := "STARTTLS"
	if e.ImplicitTLS {
		socket = "SSL"
	}
	return mozServer{Type: typ, Hostname: e.Host, Port: e.Port, SocketType: socket,
		Username: emailAddressPlaceholder, Authentication: "password-cleartext"}
}

// writeXML writes v as an XML document.
func writeXML(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := xml.MarshalIndent(v, "", "  ")
	if err != nil { // only a type encoding/xml cannot write, which the tests would show
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
	w.Write([]byte("\n"))
}
