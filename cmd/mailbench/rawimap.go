package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// rawIMAP is a lean IMAP client for the timed bulk commands: it writes a command line and reads the reply with a
// bufio.Reader, counting the untagged FETCH responses, the literal bytes and the numbers of SEARCH and SORT,
// without parsing anything else. The go-imap client parses every ENVELOPE and BODYSTRUCTURE and hands each item
// over a goroutine: on a machine whose cores the client shares with the server, that work would be timed too.
type rawIMAP struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tag  int
	line []byte // the response being read, its literals left out; reused
}

// rawReply is what one command's reply held.
type rawReply struct {
	fetches  int   // untagged "* n FETCH" responses
	literals int64 // bytes of the literals of every response
	numbers  []uint32
}

// rawBufferSize is the size of the reader and writer: a literal is read in chunks of this much.
const rawBufferSize = 64 << 10

// dialRawIMAP connects to the target (plain, STARTTLS or IMAPS), reads the greeting and logs in as user.
func dialRawIMAP(t target, mode tlsMode, user string) (*rawIMAP, error) {
	addr := t.IMAP
	if mode == tlsIMAPS {
		addr = t.IMAPS
	}
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to IMAP %s: %w", addr, err)
	}
	c, err := startRawIMAP(conn, t, mode, addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := c.command("LOGIN " + quoted(user) + " " + quoted(t.Password)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// startRawIMAP secures conn as mode asks and reads the greeting.
func startRawIMAP(conn net.Conn, t target, mode tlsMode, addr string) (*rawIMAP, error) {
	var cfg *tls.Config
	if mode == tlsIMAPS || mode == tlsStartTLS {
		var err error
		if cfg, err = t.TLS.config(addr); err != nil {
			return nil, err
		}
	}
	if mode == tlsIMAPS {
		conn = tls.Client(conn, cfg)
	}
	c := newRawIMAP(conn)
	if _, err := c.readUntagged(); err != nil {
		return nil, fmt.Errorf("IMAP greeting of %s: %w", addr, err)
	}
	if mode != tlsStartTLS {
		return c, nil
	}
	if _, err := c.command("STARTTLS"); err != nil {
		return nil, err
	}
	return newRawIMAP(tls.Client(conn, cfg)), nil
}

func newRawIMAP(conn net.Conn) *rawIMAP {
	return &rawIMAP{conn: conn, r: bufio.NewReaderSize(conn, rawBufferSize), w: bufio.NewWriterSize(conn, rawBufferSize)}
}

func (c *rawIMAP) Close() error { return c.conn.Close() }

// quoted is s as an IMAP quoted string (RFC 3501 4.3): ASCII only, which the user names and passwords here are.
func quoted(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// rawCommandTimeout bounds one command and its reply.
const rawCommandTimeout = 10 * time.Minute

// command sends line (without tag and CRLF) and reads the reply up to its tagged response, which must be OK.
func (c *rawIMAP) command(line string) (rawReply, error) {
	return c.commandWithLiteral(line, nil)
}

// commandWithLiteral sends line followed by a synchronizing literal of lit (RFC 3501 7.5: the server's "+"
// continuation is awaited first) and the end of the line, when lit is not nil, and reads the reply.
func (c *rawIMAP) commandWithLiteral(line string, lit []byte) (rawReply, error) {
	c.tag++
	tag := "r" + strconv.Itoa(c.tag)
	c.conn.SetDeadline(time.Now().Add(rawCommandTimeout))
	defer c.conn.SetDeadline(time.Time{})
	fmt.Fprintf(c.w, "%s %s", tag, line)
	if lit != nil {
		fmt.Fprintf(c.w, " {%d}\r\n", len(lit))
		if err := c.w.Flush(); err != nil {
			return rawReply{}, fmt.Errorf("%s: %w", line, err)
		}
		if err := c.awaitContinuation(); err != nil {
			return rawReply{}, fmt.Errorf("%s: %w", line, err)
		}
		c.w.Write(lit)
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return rawReply{}, fmt.Errorf("%s: %w", line, err)
	}
	reply, err := c.readReply(tag)
	if err != nil {
		return reply, fmt.Errorf("%s: %w", line, err)
	}
	return reply, nil
}

// awaitContinuation reads responses until the server's continuation request.
func (c *rawIMAP) awaitContinuation() error {
	for range 1 << 10 {
		lits, err := c.readResponse()
		if err != nil {
			return err
		}
		if lits == 0 && bytes.HasPrefix(c.line, []byte("+")) {
			return nil
		}
		if !bytes.HasPrefix(c.line, []byte("* ")) {
			return fmt.Errorf("no continuation request for the literal: %q", c.line)
		}
	}
	return errors.New("no continuation request for the literal")
}

// readReply reads responses until the one tagged tag, which must be OK, and adds up what the untagged ones held.
func (c *rawIMAP) readReply(tag string) (rawReply, error) {
	var reply rawReply
	prefix := []byte(tag + " ")
	for {
		lits, err := c.readResponse()
		if err != nil {
			return reply, err
		}
		reply.literals += lits
		if bytes.HasPrefix(c.line, prefix) {
			status := c.line[len(prefix):]
			if !bytes.HasPrefix(status, []byte("OK")) {
				return reply, fmt.Errorf("server replied %q", bytes.TrimSpace(status))
			}
			return reply, nil
		}
		reply.count(c.line)
	}
}

// readUntagged reads one untagged response (the greeting), which must not be BYE.
func (c *rawIMAP) readUntagged() (string, error) {
	if _, err := c.readResponse(); err != nil {
		return "", err
	}
	line := string(bytes.TrimSpace(c.line))
	if !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		return line, fmt.Errorf("server said %q", line)
	}
	return line, nil
}

// count adds up what one untagged response says: a FETCH, or the numbers of SEARCH, ESEARCH (ALL) or SORT.
func (r *rawReply) count(line []byte) {
	fields := bytes.Fields(line)
	if len(fields) < 2 || string(fields[0]) != "*" {
		return
	}
	switch strings.ToUpper(string(fields[1])) {
	case "SEARCH", "SORT":
		for _, f := range fields[2:] {
			if n, err := strconv.ParseUint(string(f), 10, 32); err == nil {
				r.numbers = append(r.numbers, uint32(n))
			}
		}
	case "ESEARCH":
		r.numbers = append(r.numbers, esearchAll(fields[2:])...)
	default:
		if len(fields) >= 3 && strings.EqualFold(string(fields[2]), "FETCH") {
			r.fetches++
		}
	}
}

// esearchAll expands the ALL sequence set of an ESEARCH response (RFC 4731), such as "1:3,7".
func esearchAll(fields [][]byte) []uint32 {
	var out []uint32
	for i := 0; i+1 < len(fields); i++ {
		if !strings.EqualFold(string(fields[i]), "ALL") {
			continue
		}
		for _, rng := range strings.Split(string(fields[i+1]), ",") {
			lo, hi, _ := strings.Cut(rng, ":")
			a, errA := strconv.ParseUint(lo, 10, 32)
			b, errB := strconv.ParseUint(hi, 10, 32)
			if errB != nil {
				b = a
			}
			for n := min(a, b); errA == nil && n <= max(a, b); n++ {
				out = append(out, uint32(n))
			}
		}
	}
	return out
}

// readResponse reads one response into c.line: its lines, with the literals they announce read and discarded
// (counted in lits) rather than kept.
func (c *rawIMAP) readResponse() (lits int64, err error) {
	c.line = c.line[:0]
	for {
		chunk, err := c.r.ReadSlice('\n')
		c.line = append(c.line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return lits, fmt.Errorf("read a response: %w", err)
		}
		n, ok := literalSize(c.line)
		if !ok {
			return lits, nil
		}
		copied, err := io.CopyN(io.Discard, c.r, n)
		if lits += copied; err != nil {
			return lits, fmt.Errorf("read a literal of %d bytes: %w", n, err)
		}
	}
}

// literalSize says whether line ends with a literal's announcement, {n}CRLF or ~{n}CRLF (RFC 3501 4.3, RFC 3516),
// and its size.
func literalSize(line []byte) (int64, bool) {
	line = bytes.TrimSuffix(line, []byte("\r\n"))
	if !bytes.HasSuffix(line, []byte("}")) {
		return 0, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(line[open+1:len(line)-1]), 10, 64)
	return n, err == nil && n >= 0
}
