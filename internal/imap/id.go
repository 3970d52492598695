package imap

import (
	"log/slog"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/version"
)

// maxIDValue is the longest ID value logged: RFC 2971 section 3.3 allows 1024 octets.
const maxIDValue = 1024

// ID implements imapserver.SessionID (RFC 2971), before login as after: it logs what the client says it is, for
// support, and names the server, with no more than its name and version (section 3.3 warns against more).
func (s *session) ID(client *imap.IDData) *imap.IDData {
	if client == nil {
		s.log.Info("imap client id", "id", "NIL")
	} else {
		s.log.Info("imap client id", idAttrs(client)...)
	}
	return &imap.IDData{Name: "mailserver", Version: version.Read().Version}
}

// idAttrs are the fields the client sent (the library reads at most 30 pairs), each value cut at maxIDValue bytes.
func idAttrs(id *imap.IDData) []any {
	var attrs []any
	for _, f := range []struct{ name, value string }{
		{"name", id.Name}, {"version", id.Version}, {"os", id.OS}, {"os-version", id.OSVersion},
		{"vendor", id.Vendor}, {"support-url", id.SupportURL}, {"address", id.Address}, {"date", id.Date},
		{"command", id.Command}, {"arguments", id.Arguments}, {"environment", id.Environment},
	} {
		if f.value != "" {
			attrs = append(attrs, slog.String("id_"+f.name, cutValue(f.value, maxIDValue)))
		}
	}
	return attrs
}

// cutValue cuts s to at most max bytes without splitting a character, and makes it valid UTF-8.
func cutValue(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return strings.ToValidUTF8(s, "")
}
