package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// quitTimeout bounds the wait for the reply to QUIT: the outcome is settled by then, so a slow server must not hold
// up the worker.
const quitTimeout = 10 * time.Second

// errHandshake marks a failed TLS handshake (the connection is unusable afterwards).
var errHandshake = errors.New("TLS handshake failed")

// session is one SMTP connection to one target. Each command and its reply get a deadline, and the connection is
// closed as soon as the delivery's context ends, which unblocks whatever is waiting on it.
//
// go-smtp's client does not fit here: it has no STARTTLS after an EHLO of our own (so no opportunistic TLS on one
// connection), writes the message with no deadline at all, always asks for BODY=8BITMIME, and reads multi-line
// replies without a bound on their size.
type session struct {
	host    string
	raw     net.Conn // the TCP connection
	conn    net.Conn // raw, or the TLS connection over it after STARTTLS
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration     // per command
	ext     map[string]string // EHLO keywords in upper case, with their parameters; nil after HELO
	tls     bool
	broken  bool        // an I/O or protocol error: nothing more can be said on the connection
	stop    func() bool // unhooks the close on context end
}

func newSession(ctx context.Context, host string, conn net.Conn, timeout time.Duration) *session {
	s := &session{host: host, raw: conn, timeout: timeout}
	s.setConn(conn)
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return s
}

func (s *session) setConn(conn net.Conn) {
	s.conn = conn
	s.r = bufio.NewReaderSize(conn, maxReplyLine)
	s.w = bufio.NewWriter(conn)
}

// has reports whether the server announced the EHLO keyword.
func (s *session) has(keyword string) bool {
	_, ok := s.ext[keyword]
	return ok
}

// read reads a reply within the deadline already set.
func (s *session) read() (Reply, []string, error) {
	code, lines, err := readReply(s.r)
	if err != nil {
		s.broken = true
		return Reply{}, nil, err
	}
	return newReply(s.host, code, lines), lines, nil
}

// greeting reads the server's opening reply.
func (s *session) greeting() (Reply, error) {
	s.conn.SetDeadline(time.Now().Add(s.timeout))
	r, _, err := s.read()
	return r, err
}

// exchange sends one command line and reads its reply.
func (s *session) exchange(line string) (Reply, []string, error) {
	s.conn.SetDeadline(time.Now().Add(s.timeout))
	s.w.WriteString(line)
	s.w.WriteString("\r\n")
	if err := s.w.Flush(); err != nil {
		s.broken = true
		return Reply{}, nil, err
	}
	return s.read()
}

func (s *session) cmd(line string) (Reply, error) {
	r, _, err := s.exchange(line)
	return r, err
}

// hello introduces us with EHLO, or with HELO to a server that does not know EHLO (RFC 5321 3.2), and records
// the extensions announced.
func (s *session) hello(name string) (Reply, error) {
	s.ext = nil
	r, lines, err := s.exchange("EHLO " + name)
	if err != nil {
		return r, err
	}
	if r.Code == 500 || r.Code == 502 {
		return s.cmd("HELO " + name)
	}
	if r.Code/100 == 2 {
		s.ext = make(map[string]string)
		for _, line := range lines[1:] {
			keyword, param, _ := strings.Cut(strings.TrimSpace(line), " ")
			s.ext[strings.ToUpper(keyword)] = param
		}
	}
	return r, nil
}

// startTLS sends STARTTLS and, if the server agrees, makes the handshake. A refusal is returned as the reply; a
// failed handshake as an error wrapping errHandshake.
func (s *session) startTLS(ctx context.Context, cfg *tls.Config) (Reply, error) {
	r, err := s.cmd("STARTTLS")
	if err != nil || r.Code != 220 {
		return r, err
	}
	// Anything the server sent after its 220 would be read as if it came over TLS (CVE-2011-0411 in reverse).
	if s.r.Buffered() > 0 {
		s.broken = true
		return r, fmt.Errorf("%w: data after the STARTTLS reply", errProtocol)
	}
	conn := tls.Client(s.raw, cfg)
	conn.SetDeadline(time.Now().Add(s.timeout))
	if err := conn.HandshakeContext(ctx); err != nil {
		s.broken = true
		return r, fmt.Errorf("%w: %w", errHandshake, err)
	}
	s.setConn(conn)
	s.tls = true
	return r, nil
}

// authPlain authenticates with AUTH PLAIN (RFC 4616), only ever over TLS. A refusal is returned as the reply.
func (s *session) authPlain(username, password string) (Reply, error) {
	if !s.tls {
		return Reply{}, errors.New("refusing to send credentials without TLS")
	}
	_, ir, err := sasl.NewPlainClient("", username, password).Start()
	if err != nil {
		return Reply{}, err
	}
	r, err := s.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString(ir))
	if err == nil && r.Code == 334 {
		// A challenge after the initial response is not PLAIN: cancel the exchange (RFC 4954 4).
		return s.cmd("*")
	}
	return r, err
}

// offersPlain reports whether the server announced AUTH PLAIN.
func (s *session) offersPlain() bool {
	return slices.ContainsFunc(strings.Fields(s.ext["AUTH"]), func(m string) bool {
		return strings.EqualFold(m, "PLAIN")
	})
}

// maxSize is the message size limit the server announced with SIZE (RFC 1870); 0 if none.
func (s *session) maxSize() int64 {
	n, err := strconv.ParseInt(s.ext["SIZE"], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// data sends DATA and the message, dot-stuffed, and reads the final reply. A refusal of DATA itself is returned as
// the reply. Once the server said 354, each write of the message gets sendTimeout (RFC 5321 4.5.3.2.5 times each
// send, not the transfer, so a large message on a slow but steady link goes through), and the final reply gets a
// fresh replyTimeout from the final dot (4.5.3.2.6: giving up while the server scans the message would send it
// twice).
func (s *session) data(message []byte, sendTimeout, replyTimeout time.Duration) (Reply, error) {
	r, err := s.cmd("DATA")
	switch {
	case err != nil:
		return r, err
	case r.Code == 354:
	case r.Code >= 400:
		return r, nil
	default:
		s.broken = true
		return r, fmt.Errorf("%w: %s to DATA", errProtocol, r)
	}
	if err := s.send(message, sendTimeout); err != nil {
		s.broken = true
		return Reply{}, err
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(replyTimeout)); err != nil {
		s.broken = true
		return Reply{}, fmt.Errorf("setting the deadline of the reply to the message: %w", err)
	}
	r, _, err = s.read()
	return r, err
}

// send writes the message dot-stuffed and ends it with the final dot, each write to the connection within timeout.
func (s *session) send(message []byte, timeout time.Duration) error {
	w := textproto.NewWriter(bufio.NewWriterSize(sendWriter{s.conn, timeout}, sendChunk)).DotWriter()
	if _, err := w.Write(message); err != nil {
		return err
	}
	return w.Close()
}

// sendChunk is the size of each write of the message to the connection, and so what each send timeout covers.
const sendChunk = 32 << 10

// sendWriter writes to conn with a fresh write deadline for each write, so that the timeout bounds each send rather
// than the whole transfer (RFC 5321 4.5.3.2.5).
type sendWriter struct {
	conn    net.Conn
	timeout time.Duration
}

func (w sendWriter) Write(p []byte) (int, error) {
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, fmt.Errorf("setting the send deadline: %w", err)
	}
	return w.conn.Write(p)
}

// closeIdle closes a session no delivery holds: QUIT within bound, then close.
func (s *session) closeIdle(bound time.Duration) {
	s.stop = func() bool { return false }
	s.timeout = min(s.timeout, bound)
	s.close()
}

// close says QUIT when the connection is still sound, then closes it.
func (s *session) close() {
	if !s.broken {
		s.timeout = min(s.timeout, quitTimeout)
		s.cmd("QUIT")
	}
	s.stop()
	s.conn.Close()
}
