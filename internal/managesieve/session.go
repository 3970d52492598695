package managesieve

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mailserver/internal/connlog"
	"mailserver/internal/store"
)

// countFailedLogins is the disconnect line's count of refused AUTHENTICATE commands.
const countFailedLogins = "failed_logins"

// shutdownWriteTimeout bounds the BYE that Close writes to each session: a client that reads nothing does not hold
// the shutdown up.
const shutdownWriteTimeout = time.Second

// session is one client connection. Only its goroutine reads, and changes conn, tls and account; writes go through
// writeMu because Close writes BYE from another goroutine.
type session struct {
	srv     *Server
	connLog *connlog.Conn // the TCP connection, below TLS
	log     *slog.Logger
	remote  net.Addr
	reader  *commandReader

	tls     bool           // STARTTLS done
	account *store.Account // nil before AUTHENTICATE
	errors  int            // malformed or misplaced commands so far

	writeMu     sync.Mutex
	conn        net.Conn      // guarded by writeMu: connLog, or the *tls.Conn over it
	w           *bufio.Writer // guarded by writeMu
	handshaking bool          // guarded by writeMu: a BYE now would break the TLS handshake
	closing     bool          // guarded by writeMu: Close said BYE; nothing more is written
}

func newSession(srv *Server, c net.Conn) *session {
	lc := connlog.Of(c, srv.log)
	s := &session{srv: srv, connLog: lc, log: lc.Logger(), remote: c.RemoteAddr(), conn: c, w: bufio.NewWriter(c)}
	s.reader = s.newReader(c)
	return s
}

func (s *session) newReader(c net.Conn) *commandReader {
	return &commandReader{
		r:             bufio.NewReaderSize(c, 4096),
		beforeLiteral: func(int64) { s.setReadDeadline(s.srv.limits.CommandTimeout) },
	}
}

// readerLimits bound the next command. Before AUTHENTICATE no command takes more than a line's worth of string,
// so a stranger cannot make the server read scripts' worth of bytes.
func (s *session) readerLimits() readerLimits {
	lim := s.srv.limits
	if s.account == nil {
		n := int64(lim.MaxLineBytes)
		return readerLimits{MaxLineBytes: lim.MaxLineBytes, MaxLiteralBytes: n, MaxDrainBytes: n}
	}
	return readerLimits{
		MaxLineBytes:    lim.MaxLineBytes,
		MaxLiteralBytes: lim.MaxScriptBytes,
		// A literal a little over the limit is read and thrown away, so that the client hears why; one far over
		// it would tie the connection up for nothing.
		MaxDrainBytes: 4 * lim.MaxScriptBytes,
	}
}

// serve runs the session until LOGOUT, an error or Close.
func (s *session) serve() {
	defer s.connLog.Close()
	defer func() {
		// The safety net at the connection boundary: a bug must not take the server down.
		if v := recover(); v != nil {
			s.log.Error("managesieve session panicked", "panic", v)
			s.connLog.End("internal error")
		}
	}()
	// RFC 5804 section 1.7: the greeting is the capability list.
	s.writeCapabilities()
	s.send(reply{kind: "OK", text: s.srv.greeting()})
	for {
		timeout := s.srv.limits.LoginTimeout
		if s.account != nil {
			timeout = s.srv.limits.IdleTimeout
		}
		s.setReadDeadline(timeout)
		s.reader.limits = s.readerLimits()
		cmd, err := s.reader.readCommand()
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) && s.refuseMalformed("Syntax error: "+se.msg) {
				continue
			}
			if !errors.As(err, &se) {
				s.endOnReadError(err)
			}
			return
		}
		r := s.dispatch(cmd)
		if r.kind == "" || !s.send(r) || r.kind == "BYE" || r.end {
			return // hangUp has nothing to say
		}
	}
}

func (srv *Server) greeting() string {
	if srv.opts.Hostname == "" {
		return "ManageSieve ready"
	}
	return srv.opts.Hostname + " ManageSieve ready"
}

// refuseMalformed answers a command that could not be taken, and says BYE once the client has sent MaxErrors of
// them: a client that floods errors is broken or probing. It reports whether the session goes on.
func (s *session) refuseMalformed(text string) bool {
	s.errors++
	if s.errors >= s.srv.limits.MaxErrors {
		s.log.Info("managesieve: too many bad commands", "errors", s.errors)
		s.connLog.End("too many bad commands")
		s.send(reply{kind: "BYE", text: "Too many bad commands; closing the connection"})
		return false
	}
	return s.send(reply{kind: "NO", text: text})
}

// endOnReadError says BYE where a reason can still reach the client.
func (s *session) endOnReadError(err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.send(reply{kind: "BYE", text: "Timed out waiting for a command"})
	case errors.Is(err, errLineTooLong):
		s.connLog.End(connlog.ReasonServerClosed)
		s.send(reply{kind: "BYE", text: "Command line too long"})
	case errors.Is(err, errLiteralTooBig):
		s.connLog.End(connlog.ReasonServerClosed)
		s.send(reply{kind: "BYE", code: "QUOTA/MAXSIZE", text: "String too large: " + err.Error()})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
	default:
		s.log.Debug("managesieve read failed", "err", err)
	}
}

func (s *session) setReadDeadline(d time.Duration) {
	s.writeMu.Lock()
	c := s.conn
	s.writeMu.Unlock()
	_ = c.SetReadDeadline(time.Now().Add(d)) // a failure shows in the next read
}

// shutdown is Close's goodbye: BYE if the session is not in a TLS handshake, then the connection closes, which ends
// the session's read.
func (s *session) shutdown() {
	s.writeMu.Lock()
	if !s.closing && !s.handshaking {
		_ = s.conn.SetWriteDeadline(time.Now().Add(shutdownWriteTimeout))
		s.writeReplyLocked(reply{kind: "BYE", code: "TRYLATER", text: "Server shutting down"})
		_ = s.w.Flush()
	}
	s.closing = true
	s.writeMu.Unlock()
	s.connLog.End(connlog.ReasonShutdown)
	s.connLog.Close()
}

// reply is a command's final response (RFC 5804 section 1.2): OK, NO or BYE, an optional response code (with its
// arguments, already formatted) and a human-readable text. end closes the session after it (LOGOUT).
type reply struct {
	kind, code, text string
	end              bool
}

func ok(text string) reply          { return reply{kind: "OK", text: text} }
func no(code, text string) reply    { return reply{kind: "NO", code: code, text: text} }
func noText(text string) reply      { return reply{kind: "NO", text: text} }
func codeArg(name, v string) string { return name + " " + quoteOrLiteral(v) }

// send writes r and flushes; it reports whether the client can still be written to.
func (s *session) send(r reply) bool {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closing {
		return false
	}
	s.writeReplyLocked(r)
	return s.flushLocked()
}

func (s *session) writeReplyLocked(r reply) {
	s.w.WriteString(r.kind)
	if r.code != "" {
		s.w.WriteString(" (" + r.code + ")")
	}
	if r.text != "" {
		s.w.WriteString(" " + quoteOrLiteral(r.text))
	}
	s.w.WriteString("\r\n")
}

// writeLine writes one response line (a capability, a script's name) without flushing.
func (s *session) writeLine(line string) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.closing {
		s.w.WriteString(line + "\r\n")
	}
}

func (s *session) flushLocked() bool {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.limits.WriteTimeout))
	if err := s.w.Flush(); err != nil {
		s.log.Debug("managesieve write failed", "err", err)
		return false
	}
	return true
}

// quoteOrLiteral formats a string for the client (RFC 5804 section 4): quoted when it can be, a literal otherwise
// (line breaks, more than 1024 bytes, bytes a quoted string cannot carry).
func quoteOrLiteral(v string) string {
	if len(v) > maxQuotedBytes || strings.ContainsAny(v, "\r\n\x00") || !utf8.ValidString(v) {
		return "{" + strconv.Itoa(len(v)) + "}\r\n" + v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
