package imapserver

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleCompress(tag string, dec *imapwire.Decoder) error {
	var mechanism string
	if !dec.ExpectSP() || !dec.ExpectAtom(&mechanism) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	session, ok := c.session.(SessionCompress)
	if !ok {
		return newClientBugError("Unknown command")
	}
	if !strings.EqualFold(mechanism, "DEFLATE") {
		return newClientBugError("Unknown compression mechanism")
	}
	if c.compressed {
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeCompressionActive,
			Text: "DEFLATE is active already",
		}
	}
	if err := session.Compress("DEFLATE"); err != nil {
		return err
	}

	// Nothing may be written uncompressed after the tagged OK: keep
	// c.encMutex locked until the streams are swapped
	enc := newResponseEncoder(c)
	defer enc.end()
	err := writeStatusResp(enc.Encoder, tag, &imap.StatusResponse{
		Type: imap.StatusResponseTypeOK,
		Text: "DEFLATE active",
	})
	if err != nil {
		return err
	}

	// The client sends nothing more before the OK (RFC 4978 section 3), but
	// what it may have sent is compressed already
	buffered, err := c.br.Peek(c.br.Buffered())
	if err != nil {
		return err
	}
	compressedIn := io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), c.conn)
	fw, err := flate.NewWriter(c.conn, flate.DefaultCompression)
	if err != nil {
		return err
	}
	c.setStream(c.server.options.wrapReadWriter(struct {
		io.Reader
		io.Writer
	}{inflateReader{flate.NewReader(compressedIn)}, flushWriter{fw}}))
	c.compressed = true
	return nil
}

// flushWriter flushes the compressor after each write: the buffered writer
// above it writes at the end of each response, which the client must get
// whole without waiting for more (RFC 4978 section 4).
type flushWriter struct {
	fw *flate.Writer
}

func (w flushWriter) Write(b []byte) (int, error) {
	n, err := w.fw.Write(b)
	if err != nil {
		return n, err
	}
	return n, w.fw.Flush()
}

// inflateReader reads the client's compressed stream. Clients close the
// connection without ending the stream, so the end of the connection, which
// flate reports as io.ErrUnexpectedEOF, is an ordinary io.EOF.
type inflateReader struct {
	r io.Reader
}

func (r inflateReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}
