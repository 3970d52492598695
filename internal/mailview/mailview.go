// Package mailview turns a stored message (its raw bytes) into what the webmail shows: decoded headers, the text
// and sanitised HTML alternatives, and the list of attachments; and serves a part's bytes for download with a
// Content-Disposition that keeps Vietnamese file names. It is pure: no store, no HTTP server.
//
// Every leaf part of a message ends up either shown (the text or HTML alternative) or listed in Attachments, so
// nothing the sender put in a message is hidden from the reader. Embedded messages (message/rfc822) are listed as
// attachments and not opened.
//
// The HTML is untrusted: it is sanitised by bluemonday with a policy for mail (sanitize.go), and the result is a
// complete document meant for an iframe with the sandbox attribute and no allow-scripts; its own
// Content-Security-Policy forbids scripts, plugins, forms and remote loads besides the images it allows.
package mailview

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailserver/internal/message"

	"github.com/emersion/go-imap/v2"
)

// Options say how a message is rendered.
type Options struct {
	// AllowRemoteImages keeps http and https images in the HTML: the reader asked to show them for this message.
	// Otherwise they are left out (they tell the sender when and where the mail was read) and
	// View.RemoteImagesBlocked says so.
	AllowRemoteImages bool
	// PartURL returns the URL of a part by its path ("1.2"), to show cid: images. Nil: cid: images are left out.
	PartURL func(path string) string
}

// View is a message as a page shows it. Every string is UTF-8 (NFC), decoded from RFC 2047 words and legacy
// charsets (windows-1258 included).
type View struct {
	Subject string
	// Date is the Date header, zero when missing or unparseable; the page formats it in the reader's time zone.
	Date         time.Time
	From, To, Cc []Address
	// Text is the text/plain alternative, "" if none.
	Text string
	// HTML is the text/html alternative sanitised, as a complete document for a sandboxed iframe; "" if none.
	HTML string
	// RemoteImagesBlocked reports that HTML referenced remote images that were left out.
	RemoteImagesBlocked bool
	Attachments         []Attachment
	// Headers are every top-level header field in order, decoded, for "show headers".
	Headers []Header
}

// Address is one mailbox of an address field. Group names are not listed, their members are.
type Address struct {
	Name  string // display name, decoded; may be ""
	Email string // local@domain
}

// String is the address as a page shows it: "Name <local@domain>", or the address alone.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// Attachment is a part that is not the text or HTML shown.
type Attachment struct {
	Path        string // part path for Part and Options.PartURL ("2", "1.3")
	FileName    string // decoded (RFC 2047, RFC 2231 continuations and charsets); "" if the part has none
	ContentType string // "type/subtype", lower-case
	Size        int64  // decoded size in bytes
	ContentID   string // Content-ID without angle brackets, "" if none
	// Inline reports a part meant to be shown inside the message (Content-Disposition: inline, or a resource
	// of a multipart/related such as a cid: image) rather than offered as a file.
	Inline bool
}

// Header is one header field, its value decoded.
type Header struct {
	Name, Value string
}

// Render parses raw (a whole RFC 5322 message) for display. It fails only on a message that has no header at
// all; malformed MIME is shown as best it can be.
func Render(raw []byte, opts Options) (*View, error) {
	fields := message.HeaderFields(raw)
	if len(fields) == 0 {
		return nil, fmt.Errorf("render message: no header fields in %d bytes", len(raw))
	}
	parsed := message.Parse(raw)
	meta := parsed.ToMeta()
	env := parsed.Envelope
	v := &View{
		Subject: env.Subject,
		Date:    parsed.Date,
		From:    addresses(env.From),
		To:      addresses(env.To),
		Cc:      addresses(env.Cc),
		Headers: make([]Header, len(fields)),
	}
	for i, f := range fields {
		v.Headers[i] = Header{Name: f.Name, Value: message.DecodeHeaderValue(f.Value)}
	}
	src := message.BytesSource(nil, raw)
	parts := collectParts(meta.Root)
	// A text part in a transfer encoding this server cannot undo is offered as a file instead of shown.
	text, textOK := partText(meta, src, parts.text)
	html, htmlOK := partText(meta, src, parts.html)
	for _, failed := range []struct {
		l  *leaf
		ok bool
	}{{parts.text, textOK}, {parts.html, htmlOK}} {
		if failed.l != nil && !failed.ok {
			parts.others = append(parts.others, *failed.l)
		}
	}
	sortLeaves(parts.others)
	v.Text = text
	v.Attachments = attachments(meta, src, parts.others)
	if html != "" {
		v.HTML, v.RemoteImagesBlocked = sanitizeDocument(html, contentIDs(v.Attachments), opts)
	}
	return v, nil
}

// addresses lists the mailboxes of an ENVELOPE address list, leaving out the markers RFC 3501 puts around a
// group's members (a group name without a host, an empty end marker).
func addresses(list []imap.Address) []Address {
	var out []Address
	for _, a := range list {
		if a.Host == "" {
			continue
		}
		out = append(out, Address{Name: a.Name, Email: a.Mailbox + "@" + a.Host})
	}
	return out
}

// partText is a text part's body decoded to UTF-8: transfer encoding removed, then its charset. ok is false when
// the transfer encoding is unknown (the only way ExtractBinary fails on bytes in memory).
func partText(meta *message.Meta, src message.Source, l *leaf) (text string, ok bool) {
	if l == nil {
		return "", true
	}
	body, err := meta.ExtractBinary(src, l.path)
	if err != nil {
		return "", false
	}
	return message.DecodeText(body, l.part.Params["charset"]), true
}

// pathString is a part path as IMAP writes it: "1.2".
func pathString(path []int) string {
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ".")
}
