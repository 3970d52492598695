package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// maxIDPairs is the most field-value pairs an ID command may carry (RFC 2971
// section 3.3).
const maxIDPairs = 30

func (c *Conn) handleID(dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	clientID, err := readIDParams(dec)
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	session, ok := c.session.(SessionID)
	if !ok {
		return newClientBugError("Unknown command")
	}
	return c.writeID(session.ID(clientID))
}

// readIDParams reads an id-params-list: nil for NIL, else the fields that
// IDData holds; other fields are ignored.
func readIDParams(dec *imapwire.Decoder) (*imap.IDData, error) {
	var atom string
	if dec.Atom(&atom) {
		if !dec.Expect(strings.EqualFold(atom, "NIL"), "NIL or '('") {
			return nil, dec.Err()
		}
		return nil, nil
	}

	data := &imap.IDData{}
	pairs := 0
	err := dec.ExpectList(func() error {
		pairs++
		if pairs > maxIDPairs {
			return newClientBugError("ID takes at most 30 field-value pairs")
		}
		var field, value string
		if !dec.ExpectString(&field) || !dec.ExpectSP() || !dec.ExpectNString(&value) {
			return dec.Err()
		}
		if ptr := idField(data, field); ptr != nil {
			*ptr = value
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// idField returns where IDData keeps field, nil if it does not.
func idField(data *imap.IDData, field string) *string {
	switch strings.ToLower(field) {
	case "name":
		return &data.Name
	case "version":
		return &data.Version
	case "os":
		return &data.OS
	case "os-version":
		return &data.OSVersion
	case "vendor":
		return &data.Vendor
	case "support-url":
		return &data.SupportURL
	case "address":
		return &data.Address
	case "date":
		return &data.Date
	case "command":
		return &data.Command
	case "arguments":
		return &data.Arguments
	case "environment":
		return &data.Environment
	default:
		return nil
	}
}

var idFieldNames = []string{
	"name", "version", "os", "os-version", "vendor", "support-url", "address", "date", "command", "arguments",
	"environment",
}

func (c *Conn) writeID(data *imap.IDData) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom("*").SP().Atom("ID").SP()
	if data == nil {
		enc.NIL()
		return enc.CRLF()
	}

	var fields []string
	for _, name := range idFieldNames {
		if value := *idField(data, name); value != "" {
			fields = append(fields, name, value)
		}
	}
	if len(fields) == 0 {
		enc.NIL()
		return enc.CRLF()
	}
	enc.List(len(fields), func(i int) {
		enc.String(fields[i])
	})
	return enc.CRLF()
}
