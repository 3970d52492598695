package imapserver

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// handleMultiAppend reads an APPEND of one message or several (RFC 3502) into
// the session's Appender, which stores them together once the whole command
// has arrived. When one message is refused, the rest of the command is skipped
// and nothing is stored.
func (c *Conn) handleMultiAppend(tag string, dec *imapwire.Decoder, session SessionMultiAppend) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		c.skipAppendMessages(dec)
		return err
	}
	// The mailbox is checked before the first literal is accepted, so that a
	// client is not made to upload messages that cannot be stored.
	appender, err := session.BeginAppend(mailbox)
	if err != nil {
		c.skipAppendMessages(dec)
		return err
	}
	defer appender.Close()

	for {
		if err := c.readAppendMessage(dec, appender); err != nil {
			return err
		}
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return c.appendSyntaxError(dec.Err())
	}
	data, err := appender.Commit()
	if err != nil {
		return err
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeAppendOK(tag, data)
}

// readAppendMessage reads one message of an APPEND into appender. When the
// message is refused, it skips the rest of the command before returning the
// error.
func (c *Conn) readAppendMessage(dec *imapwire.Decoder, appender Appender) error {
	options, dataExt, err := readAppendMessageHead(dec)
	if err != nil {
		return c.appendSyntaxError(err)
	}
	if dataExt == appendCatenateExt {
		return c.readAppendCatenate(dec, appender, options)
	}
	lit, nonSync, err := dec.ExpectLiteralReader()
	if err != nil {
		return c.appendSyntaxError(err)
	}
	if limit := c.appendLimit(); lit.Size() > limit {
		if c.dropAppendLiteral(lit, nonSync) {
			c.skipAfterAppendLiteral(dec, dataExt)
		}
		return appendTooBigError(limit)
	}
	if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
		if c.dropAppendLiteral(lit, nonSync) {
			c.skipAfterAppendLiteral(dec, dataExt)
		}
		return err
	}

	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)
	addErr := appender.Add(lit, options)
	if _, err := io.Copy(io.Discard, lit); err != nil {
		return fmt.Errorf("reading APPEND literal: %w", err)
	}
	if addErr != nil {
		c.skipAfterAppendLiteral(dec, dataExt)
		return addErr
	}
	if dataExt != "" && !dec.ExpectSpecial(')') {
		return c.appendSyntaxError(dec.Err())
	}
	return nil
}

// readAppendCatenate reads one message given as CATENATE parts (RFC 4469)
// into appender, which must implement AppenderCatenate. When the message is
// refused, the parts the appender did not read and the rest of the command are
// skipped before returning the error.
func (c *Conn) readAppendCatenate(dec *imapwire.Decoder, appender Appender, options *imap.AppendOptions) error {
	catAppender, ok := appender.(AppenderCatenate)
	if !ok {
		return c.appendSyntaxError(newClientBugError("Unknown APPEND data extension"))
	}
	if !dec.ExpectSP() || !dec.ExpectSpecial('(') {
		return c.appendSyntaxError(dec.Err())
	}
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)
	parts := &CatenateReader{conn: c, dec: dec, limit: c.appendLimit()}
	addErr := catAppender.AddCatenate(parts, options)
	if err := parts.discardRest(); err != nil {
		// A part refused (TOOBIG, or a literal not accepted) was never
		// sent, so the client is in step; a syntax error leaves no telling
		// where the command ends.
		var imapErr *imap.Error
		if errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeNo {
			return err
		}
		return c.appendSyntaxError(err)
	}
	if addErr != nil {
		if dec.SP() {
			c.skipAppendMessages(dec)
		}
		return addErr
	}
	return nil
}

// appendSyntaxError ends the connection after the reply to an APPEND that
// cannot be parsed: the rest of its line may announce a non-synchronizing
// literal, whose bytes would then be read as commands, and there is no
// telling where the command ends.
func (c *Conn) appendSyntaxError(err error) error {
	c.byeAfterReply = "Syntax error in APPEND"
	return err
}

// skipAfterAppendLiteral skips the messages that follow a refused one.
func (c *Conn) skipAfterAppendLiteral(dec *imapwire.Decoder, dataExt string) {
	if dataExt != "" && !dec.Special(')') {
		c.appendSyntaxError(dec.Err())
		return
	}
	if dec.SP() {
		c.skipAppendMessages(dec)
	}
}

// skipAppendMessages reads what is left of a refused APPEND, from the start of
// a message on, so that the session stays in step with the client. No
// continuation request is sent, so the client sends nothing more after a
// synchronizing literal; non-synchronizing literals come anyway and are
// dropped.
func (c *Conn) skipAppendMessages(dec *imapwire.Decoder) {
	for {
		_, dataExt, err := readAppendMessageHead(dec)
		if err != nil {
			c.appendSyntaxError(err)
			return
		}
		if dataExt == appendCatenateExt {
			// Its TEXT parts are asked for like any literal: CATENATE has
			// no way to skip them unsent.
			parts := &CatenateReader{conn: c, dec: dec, limit: c.appendLimit()}
			if !dec.ExpectSP() || !dec.ExpectSpecial('(') {
				c.appendSyntaxError(dec.Err())
				return
			}
			if err := parts.discardRest(); err != nil {
				c.appendSyntaxError(err)
				return
			}
			if !dec.SP() {
				return
			}
			continue
		}
		lit, nonSync, ok := dec.LiteralReader()
		if !ok {
			c.appendSyntaxError(dec.Err())
			return
		}
		if !c.dropAppendLiteral(lit, nonSync) {
			return
		}
		if dataExt != "" && !dec.Special(')') {
			c.appendSyntaxError(dec.Err())
			return
		}
		if !dec.SP() {
			return
		}
	}
}

// dropAppendLiteral reads and drops a literal of a refused APPEND, and reports
// whether the command goes on after it. A synchronizing literal is never sent
// (no continuation request); a non-synchronizing one over the append limit is
// not read either: there is no telling where its command ends, so the
// connection ends after the reply (RFC 7888 section 4).
func (c *Conn) dropAppendLiteral(lit *imapwire.LiteralReader, nonSync bool) bool {
	if !nonSync {
		return false
	}
	if lit.Size() > c.appendLimit() {
		c.byeAfterReply = "APPEND literal too large"
		return false
	}
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)
	_, err := io.Copy(io.Discard, lit)
	return err == nil
}

func appendTooBigError(limit int64) error {
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodeTooBig,
		Text: fmt.Sprintf("Literals are limited to %v bytes for this command", limit),
	}
}
