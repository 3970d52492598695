package imapserver

import (
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// defaultAppendLimit is the default maximum size of an APPEND payload.
const defaultAppendLimit = 100 * 1024 * 1024 // 100MiB

func (c *Conn) handleAppend(tag string, dec *imapwire.Decoder) error {
	if session, ok := c.session.(SessionMultiAppend); ok {
		return c.handleMultiAppend(tag, dec, session)
	}

	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() {
		return dec.Err()
	}

	options, dataExt, err := readAppendMessageHead(dec)
	if err != nil {
		return err
	}
	if dataExt == appendCatenateExt {
		return c.appendCatenate(tag, dec, mailbox, options)
	}

	lit, nonSync, err := dec.ExpectLiteralReader()
	if err != nil {
		return err
	}

	appendLimit := c.appendLimit()
	if lit.Size() > appendLimit {
		return appendTooBigError(appendLimit)
	}
	if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
		return err
	}

	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		io.Copy(io.Discard, lit)
		dec.CRLF()
		return err
	}

	data, appendErr := c.session.Append(mailbox, lit, options)
	if _, discardErr := io.Copy(io.Discard, lit); discardErr != nil {
		return discardErr
	}
	if dataExt != "" && !dec.ExpectSpecial(')') {
		return dec.Err()
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

func (c *Conn) writeAppendOK(tag string, data *imap.AppendData) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom(tag).SP().Atom("OK").SP()
	if data != nil {
		enc.Special('[')
		enc.Atom("APPENDUID").SP().Number(data.UIDValidity).SP()
		if len(data.UIDs) > 0 {
			enc.NumSet(data.UIDs)
		} else {
			enc.UID(data.UID)
		}
		enc.Special(']').SP()
	}
	enc.Text("APPEND completed")
	return enc.CRLF()
}

// appendLimit is the largest message an APPEND may carry.
func (c *Conn) appendLimit() int64 {
	if appendLimitSession, ok := c.session.(SessionAppendLimit); ok {
		return int64(appendLimitSession.AppendLimit())
	}
	return defaultAppendLimit
}

// readAppendMessageHead reads what precedes a message's literal in APPEND: the
// optional flag list and date-time, and the UTF8 or CATENATE data extension,
// whose name it returns in upper case ("" without one). After CATENATE the
// parts follow, for a CatenateReader.
func readAppendMessageHead(dec *imapwire.Decoder) (*imap.AppendOptions, string, error) {
	var options imap.AppendOptions
	hasFlagList, err := dec.List(func() error {
		flag, err := internal.ExpectFlag(dec)
		if err != nil {
			return err
		}
		options.Flags = append(options.Flags, flag)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if hasFlagList && !dec.ExpectSP() {
		return nil, "", dec.Err()
	}

	t, err := internal.DecodeDateTime(dec)
	if err != nil {
		return nil, "", err
	}
	if !t.IsZero() && !dec.ExpectSP() {
		return nil, "", dec.Err()
	}
	options.Time = t

	var dataExt string
	if !dec.Special('~') && dec.Atom(&dataExt) { // ignore literal8 prefix if any for BINARY
		switch dataExt = strings.ToUpper(dataExt); dataExt {
		case appendCatenateExt:
			// The parts follow; CatenateReader reads them (RFC 4469).
		case "UTF8":
			// '~' is the literal8 prefix
			if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectSpecial('~') {
				return nil, "", dec.Err()
			}
		default:
			return nil, "", newClientBugError("Unknown APPEND data extension")
		}
	}
	return &options, dataExt, nil
}
