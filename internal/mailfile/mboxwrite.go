package mailfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// asctime is the From line's date (RFC 4155 appendix A), written in UTC.
const asctime = "Mon Jan _2 15:04:05 2006"

// MboxWriterOptions configure an MboxWriter.
type MboxWriterOptions struct {
	// LF writes bare LF line endings, the convention of Unix tools, instead of the messages' own CRLF. Only a
	// message whose every line ends in CRLF then reads back byte for byte; the default CRLF file reads back every
	// message exactly.
	LF bool
}

// MboxWriter writes mboxrd: a From line with the sender and INTERNALDATE, the flags as a leading
// Status/X-Status/X-Keywords run that our reader removes again, the message with every ">*From " line quoted with
// one more '>', and a line ending.
type MboxWriter struct {
	bw *bufio.Writer
	lf bool
}

// NewMboxWriter returns a writer to w; call Flush when done.
func NewMboxWriter(w io.Writer, opt MboxWriterOptions) *MboxWriter {
	return &MboxWriter{bw: bufio.NewWriterSize(w, readBufferSize), lf: opt.LF}
}

// Write appends one message. A message without a date is written with the Unix epoch, as the From line needs one.
func (w *MboxWriter) Write(m *Message) error {
	fs, err := splitFlags(m.Flags)
	if err != nil {
		return fmt.Errorf("mbox: %s: %w", m.Source, err)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	w.line("From " + senderToken(m.Sender) + " " + date.UTC().Format(asctime))
	w.line("Status: " + statusValue(&fs))
	w.line("X-Status: " + xStatusValue(&fs))
	w.line("X-Keywords: " + strings.Join(fs.keywords, " "))
	w.body(m.Data)
	_, err = w.bw.Write(w.eol()) // bufio keeps the first write error and returns it from every later call
	return err
}

// Flush writes out what is buffered.
func (w *MboxWriter) Flush() error { return w.bw.Flush() }

func (w *MboxWriter) eol() []byte {
	if w.lf {
		return lf
	}
	return crlf
}

func (w *MboxWriter) line(s string) {
	w.bw.WriteString(s)
	w.bw.Write(w.eol())
}

// body writes the message, quoting From lines and, for an LF file, turning CRLF into LF.
func (w *MboxWriter) body(data []byte) {
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n') + 1
		if end == 0 {
			end = len(data)
		}
		line := data[:end]
		data = data[end:]
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), fromPrefix) {
			w.bw.WriteByte('>')
		}
		if w.lf && bytes.HasSuffix(line, crlf) {
			w.bw.Write(line[:len(line)-2])
			w.bw.Write(lf)
			continue
		}
		w.bw.Write(line)
	}
}

// senderToken makes the envelope sender one word, as the From line needs.
func senderToken(s string) string {
	s = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, s)
	if s == "" {
		return "MAILER-DAEMON"
	}
	return s
}

// statusValue is R for \Seen and O (old: not \Recent) for every message, as mutt writes it.
func statusValue(fs *flagSet) string {
	if fs.has(FlagSeen) {
		return "RO"
	}
	return "O"
}

func xStatusValue(fs *flagSet) string {
	var b strings.Builder
	for _, c := range []byte("AFTD") {
		if fs.has(xStatusFlags[c]) {
			b.WriteByte(c)
		}
	}
	return b.String()
}
