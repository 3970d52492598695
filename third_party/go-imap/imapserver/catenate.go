package imapserver

import (
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// appendCatenateExt is the APPEND data extension of RFC 4469.
const appendCatenateExt = "CATENATE"

// CatenatePart is one part of APPEND ... CATENATE (RFC 4469 section 5): text
// sent by the client, or the IMAP URL of a message or part of one on this
// server.
type CatenatePart struct {
	URL  string
	Text imap.LiteralReader // nil for a URL part
}

// CatenateReader yields the parts of a CATENATE in order. Each TEXT literal is
// read from the connection as the session reads it, so that no part needs to
// be held in memory by the library.
type CatenateReader struct {
	conn  *Conn
	dec   *imapwire.Decoder
	limit int64 // the APPEND limit, per literal

	n    int                // parts yielded
	lit  imap.LiteralReader // the current TEXT literal, until the next part
	url  string             // the current URL
	done bool
	err  error
}

// Next returns the next part, or io.EOF after the last one. A TEXT part's
// literal must be read before the next call, or is discarded by it.
func (r *CatenateReader) Next() (*CatenatePart, error) {
	if r.err == nil && !r.done {
		r.err = r.next()
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	if r.lit != nil {
		return &CatenatePart{Text: r.lit}, nil
	}
	return &CatenatePart{URL: r.url}, nil
}

func (r *CatenateReader) next() error {
	if r.lit != nil {
		if _, err := io.Copy(io.Discard, r.lit); err != nil {
			return err
		}
		r.lit = nil
	}
	dec := r.dec
	if r.n > 0 {
		if dec.Special(')') {
			r.done = true
			return nil
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
	}
	r.n++
	var kind string
	if !dec.ExpectAtom(&kind) || !dec.ExpectSP() {
		return dec.Err()
	}
	switch strings.ToUpper(kind) {
	case "URL":
		if !dec.ExpectAString(&r.url) {
			return dec.Err()
		}
		return nil
	case "TEXT":
		return r.readText()
	default:
		return newClientBugError("CATENATE parts are TEXT or URL")
	}
}

func (r *CatenateReader) readText() error {
	lit, nonSync, err := r.dec.ExpectLiteralReader()
	if err != nil {
		return err
	}
	if lit.Size() > r.limit {
		if nonSync {
			// Its bytes are on their way and the command cannot be followed
			// further (RFC 7888 section 4).
			r.conn.byeAfterReply = "Literal too large"
		}
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Literals are limited to %v bytes for this command", r.limit),
		}
	}
	if err := r.conn.acceptLiteral(lit.Size(), nonSync); err != nil {
		return err
	}
	r.lit = lit
	return nil
}

// discardRest reads the parts the session did not, up to the closing
// parenthesis, so that the command ends where the client ends it.
func (r *CatenateReader) discardRest() error {
	for {
		if _, err := r.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// appendCatenate serves APPEND mailbox [flags] [date] CATENATE (parts), the
// CATENATE keyword read (RFC 4469).
func (c *Conn) appendCatenate(tag string, dec *imapwire.Decoder, mailbox string, options *imap.AppendOptions) error {
	session, ok := c.session.(SessionCatenate)
	if !ok {
		return newClientBugError("Unknown APPEND data extension")
	}
	if !dec.ExpectSP() || !dec.ExpectSpecial('(') {
		return dec.Err()
	}
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)

	parts := &CatenateReader{conn: c, dec: dec, limit: c.appendLimit()}
	var (
		data      *imap.AppendData
		appendErr = c.checkState(imap.ConnStateAuthenticated)
	)
	if appendErr == nil {
		data, appendErr = session.AppendCatenate(mailbox, parts, options)
	}
	if err := parts.discardRest(); err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if appendErr != nil {
		return appendErr
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeAppendOK(tag, data)
}
