package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The grammar of RFC 5804 section 4: a command is an atom, then arguments separated by one space: quoted strings,
// literals and numbers. A literal ends its line; the command goes on after its bytes.
const (
	maxQuotedBytes = 1024 // RFC 5804 section 4: "quoted strings are limited to 1024 octets"
	maxArgs        = 4    // the most any command takes is two; room for a client's harmless extra
	maxNumber      = 1<<32 - 1
)

// argKind says what an argument was on the wire: the handlers accept strings where the RFC says string and
// numbers where it says number.
type argKind int

const (
	argString argKind = iota // quoted or literal
	argNumber
	argAtom // anything else made of atom characters; no command takes one, so it is a syntax error there
)

// arg is one parsed argument. An oversized literal was read and thrown away: it has Size but no Text.
type arg struct {
	Kind      argKind
	Text      string
	Number    uint64
	Size      int64 // a literal's announced size
	Literal   bool
	Oversized bool // a literal over the reader's limit, drained unread
}

// command is one client command: its name in upper case and its arguments.
type command struct {
	Name string
	Args []arg
}

// syntaxError is a command the reader consumed whole and could not parse: the session answers NO and goes on.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func syntaxErr(format string, a ...any) error { return &syntaxError{msg: fmt.Sprintf(format, a...)} }

// Fatal reading errors: the session cannot tell where the next command starts, so it says BYE.
var (
	errLineTooLong   = errors.New("command line too long")
	errLiteralTooBig = errors.New("literal too large to skip")
)

// readerLimits bound what one command may make the server read and keep.
type readerLimits struct {
	MaxLineBytes    int   // one line, literals excluded
	MaxLiteralBytes int64 // a literal the server keeps; a larger one is drained and marked Oversized
	MaxDrainBytes   int64 // a literal larger than this is not even drained: the connection ends
}

// commandReader reads commands from a client. beforeLiteral, when set, is called before a literal's bytes are
// read (the session extends its read deadline there).
type commandReader struct {
	r             *bufio.Reader
	limits        readerLimits
	beforeLiteral func(size int64)
}

// readCommand reads one command. A *syntaxError leaves the reader at the start of the next line; any other error
// is fatal to the session (I/O, errLineTooLong, errLiteralTooBig).
func (cr *commandReader) readCommand() (command, error) {
	line, err := cr.readLine()
	if err != nil {
		return command{}, err
	}
	name, rest, _ := strings.Cut(line, " ")
	if name == "" || !isAtom(name) {
		return command{}, syntaxErr("expected a command name")
	}
	cmd := command{Name: strings.ToUpper(name)}
	if rest == "" && len(line) > len(name) {
		return cmd, syntaxErr("a space with nothing after it")
	}
	cmd.Args, err = cr.readArgs(rest)
	return cmd, err
}

// readContinuation reads a client's line during AUTHENTICATE (RFC 5804 section 2.1): one string.
func (cr *commandReader) readContinuation() (arg, error) {
	line, err := cr.readLine()
	if err != nil {
		return arg{}, err
	}
	args, err := cr.readArgs(line)
	if err != nil {
		return arg{}, err
	}
	if len(args) != 1 || args[0].Kind != argString {
		return arg{}, syntaxErr("expected one string")
	}
	return args[0], nil
}

// readArgs parses the arguments in line and, after each literal, in the lines that follow it.
func (cr *commandReader) readArgs(line string) ([]arg, error) {
	var args []arg
	var kept int64 // literal bytes kept for this command, bounded by MaxLiteralBytes + MaxLineBytes
	for line != "" {
		if len(args) == maxArgs {
			return nil, syntaxErr("too many arguments")
		}
		a, rest, literal, err := parseArg(line)
		if err != nil {
			return nil, err
		}
		if literal {
			a, err = cr.readLiteral(a, cr.limits.MaxLiteralBytes+int64(cr.limits.MaxLineBytes)-kept)
			if err != nil {
				return nil, err
			}
			kept += int64(len(a.Text))
			if rest, err = cr.readLine(); err != nil {
				return nil, err
			}
		}
		args = append(args, a)
		if rest == "" {
			break
		}
		if rest[0] != ' ' || len(rest) == 1 {
			return nil, syntaxErr("arguments must be separated by one space")
		}
		line = rest[1:]
	}
	return args, nil
}

// readLiteral reads the bytes of the literal a announces, keeping at most budget (and MaxLiteralBytes) of them.
// A larger literal is drained when it is under MaxDrainBytes, so that the session can refuse it and go on.
func (cr *commandReader) readLiteral(a arg, budget int64) (arg, error) {
	if a.Size > cr.limits.MaxDrainBytes {
		return a, fmt.Errorf("%w: %d bytes", errLiteralTooBig, a.Size)
	}
	if cr.beforeLiteral != nil {
		cr.beforeLiteral(a.Size)
	}
	if a.Size > cr.limits.MaxLiteralBytes || a.Size > budget {
		if _, err := io.CopyN(io.Discard, cr.r, a.Size); err != nil {
			return a, fmt.Errorf("skip a literal: %w", noEOF(err))
		}
		a.Oversized = true
		return a, nil
	}
	buf := make([]byte, a.Size)
	if _, err := io.ReadFull(cr.r, buf); err != nil {
		return a, fmt.Errorf("read a literal: %w", noEOF(err))
	}
	a.Text = string(buf)
	return a, nil
}

// noEOF turns the end of the stream inside a literal into io.ErrUnexpectedEOF: the client left mid-command.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine reads one line without its CRLF (a bare LF is taken too), at most MaxLineBytes long.
func (cr *commandReader) readLine() (string, error) {
	var line []byte
	for {
		chunk, err := cr.r.ReadSlice('\n')
		if len(line)+len(chunk) > cr.limits.MaxLineBytes+2 {
			return "", errLineTooLong
		}
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// parseArg parses the argument at the start of s. For a literal it returns the announced size and literal=true;
// the literal must end the line (RFC 5804 section 4).
func parseArg(s string) (a arg, rest string, literal bool, err error) {
	switch {
	case s[0] == '"':
		a.Text, rest, err = parseQuoted(s)
		return a, rest, false, err
	case s[0] == '{':
		a, err = parseLiteralHeader(s)
		return a, "", err == nil, err
	}
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	word := s[:end]
	if n, convErr := strconv.ParseUint(word, 10, 64); convErr == nil && isDigits(word) {
		if n > maxNumber {
			return a, "", false, syntaxErr("number too large")
		}
		return arg{Kind: argNumber, Number: n, Text: word}, s[end:], false, nil
	}
	if !isAtom(word) {
		return a, "", false, syntaxErr("expected a string")
	}
	return arg{Kind: argAtom, Text: word}, s[end:], false, nil
}

// parseQuoted parses a quoted string (RFC 5804 section 4): UTF-8 without CR, LF or NUL, with \" and \\ escaped.
func parseQuoted(s string) (text, rest string, err error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			if b.Len() > maxQuotedBytes {
				return "", "", syntaxErr("quoted string over %d bytes; send a literal", maxQuotedBytes)
			}
			if !utf8.ValidString(b.String()) {
				return "", "", syntaxErr("string is not UTF-8")
			}
			return b.String(), s[i+1:], nil
		case '\\':
			i++
			if i == len(s) || (s[i] != '"' && s[i] != '\\') {
				return "", "", syntaxErr(`only \" and \\ may be escaped in a quoted string`)
			}
			b.WriteByte(s[i])
		case '\r', '\n', 0:
			return "", "", syntaxErr("control character in a quoted string")
		default:
			b.WriteByte(c)
		}
	}
	return "", "", syntaxErr("unterminated quoted string")
}

// parseLiteralHeader parses "{n+}" or "{n}" at the end of a line. Both are taken without a continuation: RFC 5804
// has none for literals, so a client that sends "{n}" sends the bytes right after it, as with "{n+}".
func parseLiteralHeader(s string) (arg, error) {
	if !strings.HasSuffix(s, "}") {
		return arg{}, syntaxErr("a literal's size must end the line")
	}
	digits := strings.TrimSuffix(s[1:len(s)-1], "+")
	if digits == "" || len(digits) > 10 || !isDigits(digits) {
		return arg{}, syntaxErr("bad literal size")
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > maxNumber {
		return arg{}, syntaxErr("bad literal size")
	}
	return arg{Kind: argString, Size: n, Literal: true}, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isAtom reports whether s is made of atom characters: printable ASCII except specials (RFC 5804 section 4).
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){}"\%*]`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
