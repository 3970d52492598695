package sieve

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is a place in a script, 1-based; Column counts bytes, as editors that show UTF-8 columns differ anyway.
type Pos struct{ Line, Column int }

// Error is a compile or run-time error; Pos is zero for errors that have no place in the script (limits).
type Error struct {
	Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func errAt(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString
	tokPunct // one of [ ] ( ) , ; { }
)

type token struct {
	kind tokenKind
	pos  Pos
	text string // identifier or tag (lower-cased, without ':'), string value, punctuation
	num  int64
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of script"
	case tokIdent:
		return fmt.Sprintf("%q", t.text)
	case tokTag:
		return fmt.Sprintf("\":%s\"", t.text)
	case tokNumber:
		return "number " + strconv.FormatInt(t.num, 10)
	case tokString:
		return "a string"
	}
	return fmt.Sprintf("%q", t.text)
}

// lexer splits a script into tokens (RFC 5228 section 8.1).
type lexer struct {
	src  string
	off  int
	line int
	col  int
}

func (l *lexer) pos() Pos { return Pos{Line: l.line, Column: l.col} }

// advance moves over n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	for i := 0; i < n && l.off < len(l.src); i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

// skipSpace skips white space and both kinds of comment.
func (l *lexer) skipSpace() *Error {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '#':
			end := strings.IndexByte(l.src[l.off:], '\n')
			if end < 0 {
				end = len(l.src) - l.off
			}
			l.advance(end)
		case strings.HasPrefix(l.src[l.off:], "/*"):
			start := l.pos()
			end := strings.Index(l.src[l.off+2:], "*/")
			if end < 0 {
				return errAt(start, "comment \"/*\" is not closed by \"*/\"")
			}
			l.advance(end + 4)
		default:
			return nil
		}
	}
	return nil
}

func (l *lexer) next() (token, *Error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch {
	case strings.IndexByte("[](),;{}", c) >= 0:
		l.advance(1)
		return token{kind: tokPunct, pos: p, text: string(c)}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tokString, pos: p, text: s}, err
	case c == ':':
		l.advance(1)
		name := l.identifier()
		if name == "" {
			return token{}, errAt(p, "a tag needs a name after \":\"")
		}
		return token{kind: tokTag, pos: p, text: strings.ToLower(name)}, nil
	case c >= '0' && c <= '9':
		return l.number(p)
	case isIdentStart(c):
		name := l.identifier()
		if strings.EqualFold(name, "text") && l.off < len(l.src) && l.src[l.off] == ':' {
			l.advance(1)
			s, err := l.multiline(p)
			return token{kind: tokString, pos: p, text: s}, err
		}
		return token{kind: tokIdent, pos: p, text: strings.ToLower(name)}, nil
	}
	return token{}, errAt(p, "unexpected character %q", l.src[l.off:l.off+1])
}

func isIdentStart(c byte) bool { return c == '_' || c|0x20 >= 'a' && c|0x20 <= 'z' }

func (l *lexer) identifier() string {
	start := l.off
	for l.off < len(l.src) && (isIdentStart(l.src[l.off]) || l.src[l.off] >= '0' && l.src[l.off] <= '9') {
		l.advance(1)
	}
	return l.src[start:l.off]
}

// number reads digits and an optional K, M or G quantifier (RFC 5228 section 2.4.1).
func (l *lexer) number(p Pos) (token, *Error) {
	start := l.off
	for l.off < len(l.src) && l.src[l.off] >= '0' && l.src[l.off] <= '9' {
		l.advance(1)
	}
	n, err := strconv.ParseInt(l.src[start:l.off], 10, 64)
	if err != nil || n > 1<<40 {
		return token{}, errAt(p, "number %s is too large", l.src[start:l.off])
	}
	if l.off < len(l.src) {
		shift := map[byte]uint{'k': 10, 'K': 10, 'm': 20, 'M': 20, 'g': 30, 'G': 30}[l.src[l.off]]
		if shift > 0 {
			n <<= shift
			l.advance(1)
		}
	}
	return token{kind: tokNumber, pos: p, num: n}, nil
}

// quoted reads a quoted string: a backslash keeps the next character, whatever it is (RFC 5228 section 2.4.2).
func (l *lexer) quoted() (string, *Error) {
	start := l.pos()
	l.advance(1)
	var b strings.Builder
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch c {
		case '"':
			l.advance(1)
			return b.String(), nil
		case '\\':
			if l.off+1 < len(l.src) {
				b.WriteByte(l.src[l.off+1])
				l.advance(2)
				continue
			}
		}
		b.WriteByte(c)
		l.advance(1)
	}
	return "", errAt(start, "string is not closed by '\"'")
}

// multiline reads the rest of a "text:" string: lines up to one holding a single ".", with a leading ".." standing
// for "." (RFC 5228 section 2.4.2). Lines end with CRLF in the value whatever the script used.
func (l *lexer) multiline(p Pos) (string, *Error) {
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t') {
		l.advance(1)
	}
	if l.off < len(l.src) && l.src[l.off] == '#' {
		end := strings.IndexByte(l.src[l.off:], '\n')
		if end < 0 {
			end = len(l.src) - l.off
		}
		l.advance(end)
	}
	if !l.lineEnd() {
		return "", errAt(l.pos(), "\"text:\" must be followed by the end of the line")
	}
	var b strings.Builder
	for l.off < len(l.src) {
		end := strings.IndexByte(l.src[l.off:], '\n')
		if end < 0 {
			end = len(l.src) - l.off
		}
		line := strings.TrimSuffix(l.src[l.off:l.off+end], "\r")
		l.advance(end + 1)
		if line == "." {
			return b.String(), nil
		}
		if strings.HasPrefix(line, "..") {
			line = line[1:] // dot-stuffing
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return "", errAt(p, "\"text:\" string is not ended by a line holding only \".\"")
}

// lineEnd consumes CRLF or LF.
func (l *lexer) lineEnd() bool {
	if strings.HasPrefix(l.src[l.off:], "\r\n") {
		l.advance(2)
		return true
	}
	if strings.HasPrefix(l.src[l.off:], "\n") {
		l.advance(1)
		return true
	}
	return false
}
