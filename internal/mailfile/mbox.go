package mailfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
)

// MboxVariant says how a reader undoes the quoting of body lines that start with "From ".
type MboxVariant int

const (
	// MboxAuto, the default, reads a message that Thunderbird wrote (it carries X-Mozilla-Status) as mboxo and any
	// other as mboxrd. The two differ only on lines of two or more '>' before "From ", and each writer's own files
	// come back right: Thunderbird quotes a body's "From " once and leaves ">From " alone (mboxo), while mutt,
	// Dovecot and our writer add one '>' to every ">*From " line (mboxrd).
	MboxAuto MboxVariant = iota
	// MboxRD removes one '>' from every line that is '>'s then "From ".
	MboxRD
	// MboxO removes the '>' of ">From " only.
	MboxO
)

// DefaultMaxSize is the largest message a reader hands out when the caller gives no maximum.
const DefaultMaxSize = 100 << 20

// readBufferSize is the longest line piece a reader holds; longer lines are handed on in pieces.
const readBufferSize = 64 << 10

// MboxOptions configure an MboxReader.
type MboxOptions struct {
	Variant MboxVariant
	MaxSize int    // largest message handed out, in bytes with CRLF line endings; 0 means DefaultMaxSize
	Name    string // the file's name, for Message.Source and errors
}

// MboxReader reads the messages of an mbox file one at a time.
type MboxReader struct {
	br      *bufio.Reader
	opt     MboxOptions
	offset  int64 // bytes read from the file so far
	lfFile  bool
	started bool
	done    bool
	next    separator // the From line that opens the next message
	buf     []byte
	flags   []string
	msg     Message
}

// separator is what a From line says.
type separator struct {
	sender string
	date   time.Time
	offset int64
}

var fromPrefix = []byte("From ")

// NewMboxReader returns a reader of the mbox file r.
func NewMboxReader(r io.Reader, opt MboxOptions) *MboxReader {
	if opt.MaxSize <= 0 {
		opt.MaxSize = DefaultMaxSize
	}
	return &MboxReader{br: bufio.NewReaderSize(r, readBufferSize), opt: opt}
}

// Next returns the next message, or io.EOF after the last one. The message and its Data are valid until the next
// call. A message over the maximum size is skipped with an error wrapping ErrTooLarge; reading may go on.
func (r *MboxReader) Next() (*Message, error) {
	if !r.started {
		if err := r.start(); err != nil {
			return nil, err
		}
	}
	if r.done {
		return nil, io.EOF
	}
	return r.readMessage()
}

// piece returns the next line, or the next piece of a line longer than the buffer (no '\n' at its end), valid
// until the next call.
func (r *MboxReader) piece() ([]byte, error) {
	p, err := r.br.ReadSlice('\n')
	r.offset += int64(len(p))
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	return p, err
}

// skipLine reads past the rest of a line whose first piece was p.
func (r *MboxReader) skipLine(p []byte) error {
	for len(p) == 0 || p[len(p)-1] != '\n' {
		var err error
		if p, err = r.piece(); err != nil {
			return err
		}
	}
	return nil
}

// start reads up to the first From line, which also tells the file's line endings.
func (r *MboxReader) start() error {
	r.started = true
	for {
		p, err := r.piece()
		if len(trimEnding(p)) > 0 {
			if !bytes.HasPrefix(p, fromPrefix) {
				return fmt.Errorf("%s: not an mbox file: it does not start with a From line", r.opt.Name)
			}
			r.lfFile = !bytes.HasSuffix(p, crlf)
			r.next, _ = parseSeparator(p, r.offset-int64(len(p)), true, false)
			if err := r.skipLine(p); err != nil && err != io.EOF {
				return fmt.Errorf("%s: %w", r.opt.Name, err)
			}
			return nil
		}
		if err == io.EOF {
			r.done = true // an empty file holds no message
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.opt.Name, err)
		}
	}
}

// readMessage reads from after a From line up to the next one or the end of the file. The line ending before the
// next From line (or the end) is the separator's, not the message's: writers end every message with one.
func (r *MboxReader) readMessage() (*Message, error) {
	sep := r.next
	source := fmt.Sprintf("%s:%d", r.opt.Name, sep.offset)
	r.buf = r.buf[:0]
	var meta mboxMeta
	var pendingEOL []byte
	var prevByte byte
	lineStart, prevBlank, tooBig := true, false, false
	for {
		p, err := r.piece()
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(p) == 0 {
			r.done = true
			return r.finish(sep, source, &meta, tooBig)
		}
		if lineStart && bytes.HasPrefix(p, fromPrefix) {
			if next, ok := parseSeparator(p, r.offset-int64(len(p)), false, prevBlank); ok {
				r.next = next
				// At the end of the file the From line opens an empty message: the next call hands it out.
				if err := r.skipLine(p); err != nil && err != io.EOF {
					return nil, fmt.Errorf("%s: %w", source, err)
				}
				return r.finish(sep, source, &meta, tooBig)
			}
		}
		complete := p[len(p)-1] == '\n'
		content := trimEnding(p)
		if lineStart {
			if complete && meta.takeLeading(content) {
				continue
			}
			meta.header(content, complete)
			content = unquote(content, meta.variant(r.opt.Variant))
		}
		if !tooBig {
			if len(r.buf)+len(pendingEOL)+len(content) > r.opt.MaxSize {
				tooBig = true
			} else {
				r.buf = grow(r.buf, len(pendingEOL)+len(content), r.opt.MaxSize)
				r.buf = append(append(r.buf, pendingEOL...), content...)
			}
		}
		pendingEOL = lineEnding(p, r.lfFile, prevByte)
		prevBlank = lineStart && complete && len(content) == 0
		lineStart, prevByte = complete, p[len(p)-1]
		if err == io.EOF {
			r.done = true
			return r.finish(sep, source, &meta, tooBig)
		}
	}
}

func (r *MboxReader) finish(sep separator, source string, meta *mboxMeta, tooBig bool) (*Message, error) {
	if tooBig {
		return nil, tooLarge(source, r.opt.MaxSize)
	}
	r.flags = meta.flags().list(r.flags)
	r.msg = Message{Data: r.buf, Flags: r.flags, Date: sep.date, Sender: sep.sender, Source: source}
	return &r.msg, nil
}

// unquote undoes From quoting on a line start (RFC 4155 and the mboxrd convention).
func unquote(line []byte, v MboxVariant) []byte {
	n := 0
	for n < len(line) && line[n] == '>' {
		n++
	}
	if n == 0 || !bytes.HasPrefix(line[n:], fromPrefix) || (v == MboxO && n > 1) {
		return line
	}
	return line[1:]
}

// parseSeparator reads a "From sender date" line. Writers differ (asctime with or without a zone, RFC 5322 dates,
// UUCP's "remote from"), so any of those is taken as a date. A "From " line inside a body that its writer did not
// quote is told from a separator by its date: a line is one only at the file's start, with a readable date, or
// after a blank line with a sender that looks like one.
func parseSeparator(line []byte, offset int64, atStart, prevBlank bool) (separator, bool) {
	fields := strings.Fields(string(trimEnding(line[len(fromPrefix):])))
	s := separator{offset: offset}
	if len(fields) > 0 {
		s.sender = fields[0]
		fields = fields[1:]
	}
	date, dateOK := parseMboxDate(fields)
	if dateOK {
		s.date = date
	}
	return s, atStart || dateOK || (prevBlank && plausibleSender(s.sender))
}

// mboxDateLayouts are the From line dates met in the wild; one space stands for any run of spaces.
var mboxDateLayouts = []string{
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon Jan 2 15:04:05 2006 -0700",
	"Mon Jan 2 15:04:05 2006 MST",
	"Mon Jan 2 15:04 2006",
}

// asctimeFields is how many fields an asctime date has; what follows it ("remote from host") is ignored.
const asctimeFields = 5

func parseMboxDate(fields []string) (time.Time, bool) {
	if len(fields) == 0 {
		return time.Time{}, false
	}
	candidates := []string{strings.Join(fields, " ")}
	if len(fields) > asctimeFields {
		candidates = append(candidates, strings.Join(fields[:asctimeFields], " "))
	}
	for _, c := range candidates {
		for _, layout := range mboxDateLayouts {
			if t, err := time.Parse(layout, c); err == nil {
				return t.UTC(), true
			}
		}
		if t, err := mail.ParseDate(c); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func plausibleSender(s string) bool {
	return strings.Contains(s, "@") || s == "-" || strings.EqualFold(s, "MAILER-DAEMON")
}
