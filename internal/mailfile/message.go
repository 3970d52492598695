package mailfile

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Message is one message read from a mailbox file. Data is only valid until the reader's next call.
type Message struct {
	Data   []byte    // the message, CRLF line endings
	Flags  []string  // system flags (\Seen \Answered \Flagged \Deleted \Draft) first, then keywords
	Date   time.Time // INTERNALDATE; zero when the file does not tell it
	Sender string    // mbox: the envelope sender of the From line ("-" and "MAILER-DAEMON" included)
	Folder string    // tree readers: the folder, '/'-separated; "" for the tree's root
	Source string    // where it came from, for reports: "file:offset" for mbox, the file name otherwise
}

// IMAP system flags (RFC 9051 2.3.2) that the formats carry.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// systemFlags is the order flags are handed out in.
var systemFlags = []string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft}

// ErrTooLarge is returned (wrapped, with where the message is) for a message over the reader's maximum size; the
// reader has skipped it and the next call goes on with the next message.
var ErrTooLarge = errors.New("message larger than the maximum size")

func tooLarge(source string, max int) error {
	return fmt.Errorf("%s: %w (%d bytes)", source, ErrTooLarge, max)
}

// flagSet collects flags in a message's metadata, deduplicated; system flags come out in a fixed order.
type flagSet struct {
	system   [5]bool
	keywords []string
}

func (fs *flagSet) add(flag string) {
	for i, f := range systemFlags {
		if flag == f {
			fs.system[i] = true
			return
		}
	}
	for _, k := range fs.keywords {
		if k == flag {
			return
		}
	}
	fs.keywords = append(fs.keywords, flag)
}

// list returns the flags, reusing dst's storage.
func (fs *flagSet) list(dst []string) []string {
	dst = dst[:0]
	for i, set := range fs.system {
		if set {
			dst = append(dst, systemFlags[i])
		}
	}
	return append(dst, fs.keywords...)
}

func (fs *flagSet) has(flag string) bool {
	for i, f := range systemFlags {
		if f == flag {
			return fs.system[i]
		}
	}
	return false
}

// splitFlags separates system flags from keywords, checking that keywords can be written (an IMAP atom: no space,
// no control character, no parenthesis or bracket; RFC 9051 9 flag-keyword).
func splitFlags(flags []string) (fs flagSet, err error) {
	for _, f := range flags {
		if len(f) > 0 && f[0] == '\\' {
			fs.add(f)
			continue
		}
		if !validKeyword(f) {
			return fs, fmt.Errorf("keyword %q cannot be written", f)
		}
		fs.add(f)
	}
	return fs, nil
}

func validKeyword(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`(){%*"\]`), c) >= 0 {
			return false
		}
	}
	return true
}

// lineEnding returns the ending of line ("\r\n", "\n" or "") as it is handed out: a bare LF becomes CRLF in an LF
// file. prev is the byte before line, for a CR that ended the previous piece of a long line.
func lineEnding(line []byte, lfFile bool, prev byte) []byte {
	n := len(line)
	switch {
	case n == 0 || line[n-1] != '\n':
		return nil
	case n >= 2 && line[n-2] == '\r':
		return crlf
	case n == 1 && prev == '\r': // the CR went out with the previous piece
		return lf
	case lfFile:
		return crlf
	default:
		return lf
	}
}

var (
	crlf = []byte("\r\n")
	lf   = []byte("\n")
)

// trimEnding returns line without its line ending.
func trimEnding(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// grow makes room for n more bytes in buf, doubling its capacity (up to max) so that a large message costs about
// twice its size in allocations, where append's gentler growth for large slices would cost several times it.
func grow(buf []byte, n, limit int) []byte {
	need := len(buf) + n
	if need <= cap(buf) {
		return buf
	}
	newCap := max(min(max(2*cap(buf), 4096), limit), need)
	return append(make([]byte, 0, newCap), buf...)
}
