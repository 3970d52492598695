package autoconfig

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
)

// Outlook's Autodiscover ([MS-OXDSCLI]): the "plain old XML" request and response, and the v2 JSON lookup that
// newer Outlook makes first to learn where the POX endpoint is.
const (
	poxResponseNS        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	outlookResponseNS    = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	maxPOXRequest        = 64 << 10
	autodiscoverProtocol = "AutodiscoverV1" // the one Autodiscover v2 protocol this server answers
)

// poxRequest is the request body; its namespace is not checked (clients differ), the schema it accepts is.
type poxRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

type poxAutodiscover struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response any
}

type poxAccountResponse struct {
	XMLName xml.Name   `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	Account poxAccount `xml:"Account"`
}

type poxAccount struct {
	AccountType string        `xml:"AccountType"`
	Action      string        `xml:"Action"`
	Protocols   []poxProtocol `xml:"Protocol"`
}

// poxProtocol is one server. SSL says whether TLS starts at once; Encryption, which overrides SSL where the
// client knows it, says TLS for STARTTLS ([MS-OXDSCLI] 2.2.4.1.1.2.2.x).
type poxProtocol struct {
	Type           string `xml:"Type"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	DomainRequired string `xml:"DomainRequired"`
	LoginName      string `xml:"LoginName"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"`
	AuthRequired   string `xml:"AuthRequired"`
}

type poxErrorResponse struct {
	XMLName xml.Name `xml:"Response"` // in the enclosing responseschema/2006 namespace
	Error   struct {
		Time      string `xml:"Time,attr"`
		ID        string `xml:"Id,attr"`
		ErrorCode int    `xml:"ErrorCode"`
		Message   string `xml:"Message"`
		DebugData string `xml:"DebugData"`
	} `xml:"Error"`
}

// serveOutlookPOX answers an Autodiscover POX request for the address in its body.
func (h *Handler) serveOutlookPOX(w http.ResponseWriter, r *http.Request) {
	var req poxRequest
	if err := xml.NewDecoder(http.MaxBytesReader(w, r.Body, maxPOXRequest)).Decode(&req); err != nil {
		if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
			http.Error(w, "request body over 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		h.writePOXError(w, r, http.StatusBadRequest, 600, "Invalid Request")
		return
	}
	// Any other schema (ActiveSync's mobilesync) is a provider this server does not have: Exchange's 601.
	if schema := strings.TrimSpace(req.Request.AcceptableResponseSchema); schema != "" && schema != outlookResponseNS {
		h.writePOXError(w, r, http.StatusOK, 601, "Provider is not available")
		return
	}
	a, rerr := h.servedAddress(req.Request.EMailAddress)
	if rerr == nil {
		var s settings
		if s, rerr = h.settings(r); rerr == nil {
			writeXML(w, "text/xml; charset=utf-8", http.StatusOK, poxAutodiscover{Response: poxAccountFor(a.Key(), s)})
			return
		}
	}
	if rerr.status == http.StatusBadRequest {
		h.writePOXError(w, r, rerr.status, 600, "Invalid Request: "+rerr.english)
		return
	}
	fail(w, rerr)
}

// poxAccountFor lists IMAP, then SMTP, each implicit TLS first, with the full address as the login.
func poxAccountFor(login string, s settings) poxAccountResponse {
	acc := poxAccount{AccountType: "email", Action: "settings"}
	for _, svc := range []struct {
		typ string
		eps []endpoint
	}{{"IMAP", s.IMAP}, {"SMTP", s.SMTP}} {
		for _, e := range svc.eps {
			p := poxProtocol{Type: svc.typ, Server: e.Host, Port: e.Port, DomainRequired: "off", LoginName: login,
				SPA: "off", SSL: "off", Encryption: "TLS", AuthRequired: "on"}
			if e.ImplicitTLS {
				p.SSL, p.Encryption = "on", "SSL"
			}
			acc.Protocols = append(acc.Protocols, p)
		}
	}
	return poxAccountResponse{Account: acc}
}

// writePOXError answers with an Autodiscover error response: 600 for an invalid request, 601 for a schema not
// served. Id is, as Exchange's, a hash of the server's name.
func (h *Handler) writePOXError(w http.ResponseWriter, r *http.Request, status, code int, message string) {
	var resp poxErrorResponse
	sum := fnv.New32a()
	sum.Write([]byte(h.opts.MailHost(r).Hostname))
	resp.Error.Time = time.Now().UTC().Format("15:04:05.0000000")
	resp.Error.ID = fmt.Sprint(sum.Sum32())
	resp.Error.ErrorCode, resp.Error.Message = code, message
	writeXML(w, "text/xml; charset=utf-8", status, poxAutodiscover{Response: resp})
}

// autodiscoverJSON is Autodiscover v2's answer; jsonError its error.
type autodiscoverJSON struct {
	Protocol string `json:"Protocol"`
	URL      string `json:"Url"`
}

type jsonError struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// serveOutlookJSON answers Autodiscover v2: for Protocol=AutodiscoverV1, the URL of the POX endpoint on the HTTPS
// listener. Any other protocol (ActiveSync, Ews, Rest) is not spoken here, and gets what Microsoft's service
// answers for a protocol value it does not support: 400, ErrorCode InvalidProtocol, naming the supported ones.
func (h *Handler) serveOutlookJSON(w http.ResponseWriter, r *http.Request) {
	if p := queryValue(r, "Protocol"); !strings.EqualFold(p, autodiscoverProtocol) {
		writeJSON(w, http.StatusBadRequest, jsonError{ErrorCode: "InvalidProtocol", ErrorMessage: fmt.Sprintf(
			"The given protocol value '%s' is invalid. Supported values are '%s'", clip(p), autodiscoverProtocol)})
		return
	}
	email := r.PathValue("address")
	if email == "" {
		email = queryValue(r, "Email")
	}
	if _, rerr := h.servedAddress(email); rerr != nil {
		writeJSON(w, rerr.status, jsonError{ErrorCode: rerr.code, ErrorMessage: rerr.english})
		return
	}
	s, rerr := h.settings(r)
	if rerr == nil && s.HTTPS <= 0 {
		rerr = notOffered
	}
	if rerr != nil {
		writeJSON(w, rerr.status, jsonError{ErrorCode: rerr.code, ErrorMessage: rerr.english})
		return
	}
	writeJSON(w, http.StatusOK, autodiscoverJSON{Protocol: autodiscoverProtocol, URL: s.httpsURL(poxPath)})
}

// queryValue is a query parameter whose name is matched without regard to case.
func queryValue(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
