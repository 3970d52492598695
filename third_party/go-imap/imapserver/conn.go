package imapserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

const (
	cmdReadTimeout     = 30 * time.Second
	idleReadTimeout    = 35 * time.Minute // section 5.4 says 30min minimum
	literalReadTimeout = 5 * time.Minute

	respWriteTimeout    = 30 * time.Second
	literalWriteTimeout = 5 * time.Minute

	maxCommandSize = 50 * 1024 // RFC 2683 section 3.2.1.5 says 8KiB minimum
	// maxSkippedCommandSize bounds what is read of a command line longer
	// than maxCommandSize to find the next command; beyond it the
	// connection ends.
	maxSkippedCommandSize = 16 * 1024 * 1024
)

var errCommandTooLong = &imap.Error{
	Type: imap.StatusResponseTypeBad,
	Code: imap.ResponseCodeTooBig,
	Text: fmt.Sprintf("Command lines are limited to %v bytes", maxCommandSize),
}

var internalServerErrorResp = &imap.StatusResponse{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeServerBug,
	Text: "Internal server error",
}

// A Conn represents an IMAP connection to the server.
type Conn struct {
	server *Server
	// in and out are the connection's streams (TLS, COMPRESS and DebugWriter applied). br buffers in, and bw
	// out, only while data moves: br is given back to readerPool while the connection waits for the client
	// (waitForInput), bw to writerPool once a response is flushed (responseEncoder.end), so that an idle
	// connection holds no buffer. br is used by the connection goroutine only; bw and out under encMutex.
	in       inputReader
	out      io.Writer
	br       *bufio.Reader
	bw       *bufio.Writer
	batch    *bufio.Writer // bw while a FETCH gathers its responses (useBatchWriter): not released after each one
	encMutex sync.Mutex
	// writeTimeout is how long one write to the stream may block: respWriteTimeout, or literalWriteTimeout
	// while a literal is written. Under encMutex.
	writeTimeout time.Duration

	mutex   sync.Mutex
	conn    net.Conn
	enabled imap.CapSet

	state   imap.ConnState
	session Session
	// selectedReadOnly: the selected mailbox was opened read-only (EXAMINE, or
	// SelectData.ReadOnly)
	selectedReadOnly bool

	// byeAfterReply, when set while a command is read, ends the connection with BYE after the command's reply.
	byeAfterReply string
	// insecureAuthAllowed is Options.InsecureAuthFunc's answer for this connection.
	insecureAuthAllowed bool
	// compressed: COMPRESS=DEFLATE is active
	compressed bool
	// idling is the IDLE command under way with a SessionIdleWake, until DONE; nil otherwise.
	idling *idleCommand
}

func newConn(c net.Conn, server *Server) *Conn {
	rw := server.options.wrapReadWriter(c)
	return &Conn{
		conn:    c,
		server:  server,
		in:      inputReader{src: rw},
		out:     rw,
		enabled: make(imap.CapSet),

		writeTimeout: respWriteTimeout,
	}
}

// Buffers of idle connections go back to these pools; a pool drops what nobody took within two garbage
// collections, so the memory of a burst of activity is returned too.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReader(nil) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriter(nil) }}
)

// inputReader is what the connection's bufio.Reader reads from: first the bytes waitForInput read without a
// buffer, then the stream.
type inputReader struct {
	src     io.Reader
	first   [64]byte // enough for most command lines, and for IDLE's DONE
	pending []byte   // unread part of first
	err     error    // what the read into first failed with, returned after pending
}

func (r *inputReader) Read(b []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(b, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	if err := r.err; err != nil {
		r.err = nil
		return 0, err
	}
	return r.src.Read(b)
}

// readAhead blocks until the client sends something (or the read fails), keeping it for Read.
func (r *inputReader) readAhead() {
	n, err := r.src.Read(r.first[:])
	r.pending, r.err = r.first[:n], err
}

// waitForInput blocks until the client sends something. With nothing buffered it gives the read buffer back
// first and waits with inputReader's few bytes of its own: a connection waiting for its next command, or in
// IDLE, holds no read buffer. Call it only from the connection goroutine, between commands or where the client
// is expected to speak.
func (c *Conn) waitForInput() {
	if c.br != nil && c.br.Buffered() > 0 {
		return
	}
	c.releaseReader()
	c.in.readAhead()
	c.takeReader()
}

// takeReader takes a read buffer for what the client sent.
func (c *Conn) takeReader() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.in)
}

func (c *Conn) releaseReader() {
	if c.br == nil {
		return
	}
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.br = nil
}

// writer returns the buffered writer for a response; encMutex must be held.
func (c *Conn) writer() *bufio.Writer {
	if c.bw == nil {
		c.bw = writerPool.Get().(*bufio.Writer)
		c.bw.Reset(deadlineWriter{c})
	}
	return c.bw
}

// releaseWriter gives the buffered writer back once everything in it was written; encMutex must be held. A
// writer holding an unflushed response (a FETCH batch) or a write error is kept.
func (c *Conn) releaseWriter() {
	if c.bw == nil || c.bw == c.batch || c.bw.Buffered() > 0 || c.bw.Flush() != nil {
		return
	}
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.bw = nil
}

// setStream makes rw the connection's stream, after STARTTLS or COMPRESS: nothing buffered from the stream
// before is kept. encMutex must be held.
func (c *Conn) setStream(rw io.ReadWriter) {
	c.in = inputReader{src: rw}
	c.out = rw
	if c.br != nil {
		c.br.Reset(&c.in)
	}
	if c.bw != nil {
		c.bw.Reset(deadlineWriter{c})
	}
}

// deadlineWriter is what the connection's buffered writers write to: each write to the stream gets a deadline
// of its own, so a client that stops reading cannot hold the connection longer than writeTimeout, and there is
// no deadline outside a write (a STARTTLS handshake or a close_notify written by the TLS layer never meets a
// stale one). Setting a deadline costs a timer update, so it is done once per write of the buffer to the
// stream, not once per response: a FETCH of many messages gathers thousands of responses in one write.
type deadlineWriter struct{ c *Conn }

// Write is called with encMutex held (every write to bw is).
func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.setWriteTimeout(w.c.writeTimeout)
	n, err := w.c.out.Write(p)
	w.c.setWriteTimeout(0)
	return n, err
}

// NetConn returns the underlying connection that is wrapped by the IMAP
// connection.
//
// Writing to or reading from this connection directly will corrupt the IMAP
// session.
func (c *Conn) NetConn() net.Conn {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.conn
}

// Bye terminates the IMAP connection.
func (c *Conn) Bye(text string) error {
	respErr := c.writeStatusResp("", &imap.StatusResponse{
		Type: imap.StatusResponseTypeBye,
		Text: text,
	})
	closeErr := c.conn.Close()
	if respErr != nil {
		return respErr
	}
	return closeErr
}

func (c *Conn) EnabledCaps() imap.CapSet {
	c.mutex.Lock()
	defer c.mutex.Unlock()

	return c.enabled.Copy()
}

// serve greets the client, then serves its commands (serveCommands), which end the connection.
func (c *Conn) serve() {
	c.server.mutex.Lock()
	c.server.conns[c] = struct{}{}
	c.server.mutex.Unlock()

	if !c.greet() {
		c.end()
		return
	}
	c.serveCommands(false)
}

// greet creates the session and writes the greeting; false: the connection ends.
func (c *Conn) greet() (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.server.logger().Printf("panic handling command: %v\n%s", v, debug.Stack())
			ok = false
		}
	}()

	if f := c.server.options.InsecureAuthFunc; f != nil {
		c.insecureAuthAllowed = f(c.conn)
	}

	var (
		greetingData *GreetingData
		err          error
	)
	c.session, greetingData, err = c.server.options.NewSession(c)
	if err != nil {
		c.session = nil // not closed: it was not created
		var (
			resp    *imap.StatusResponse
			imapErr *imap.Error
		)
		if errors.As(err, &imapErr) && imapErr.Type == imap.StatusResponseTypeBye {
			resp = (*imap.StatusResponse)(imapErr)
		} else {
			c.server.logger().Printf("failed to create session: %v", err)
			resp = internalServerErrorResp
		}
		if err := c.writeStatusResp("", resp); err != nil {
			c.server.logger().Printf("failed to write greeting: %v", err)
		}
		return false
	}

	caps := c.server.options.caps()
	if _, ok := c.session.(SessionIMAP4rev2); !ok && caps.Has(imap.CapIMAP4rev2) {
		panic("imapserver: server advertises IMAP4rev2 but session doesn't support it")
	}
	if _, ok := c.session.(SessionNamespace); !ok && caps.Has(imap.CapNamespace) {
		panic("imapserver: server advertises NAMESPACE but session doesn't support it")
	}
	if _, ok := c.session.(SessionMove); !ok && caps.Has(imap.CapMove) {
		panic("imapserver: server advertises MOVE but session doesn't support it")
	}
	if _, ok := c.session.(SessionUnauthenticate); !ok && caps.Has(imap.CapUnauthenticate) {
		panic("imapserver: server advertises UNAUTHENTICATE but session doesn't support it")
	}

	c.state = imap.ConnStateNotAuthenticated
	statusType := imap.StatusResponseTypeOK
	if greetingData != nil && greetingData.PreAuth {
		c.state = imap.ConnStateAuthenticated
		statusType = imap.StatusResponseTypePreAuth
	}
	if err := c.writeCapabilityStatus("", statusType, "IMAP server ready"); err != nil {
		c.server.logger().Printf("failed to write greeting: %v", err)
		return false
	}
	return true
}

// serveCommands reads and handles commands until the connection ends, then ends it; with waitFirst, it first
// waits for the client without a read buffer.
//
// When the client has sent nothing more, the goroutine hands the connection over to a fresh one, which waits for
// the client, and returns: the stack a command grew (TLS handshake, login, a large FETCH) goes with it, and the
// waiting goroutine's stays small, about half the size.
func (c *Conn) serveCommands(waitFirst bool) {
	handedOver := false
	defer func() {
		if v := recover(); v != nil {
			c.server.logger().Printf("panic handling command: %v\n%s", v, debug.Stack())
		}
		if !handedOver {
			c.end()
		}
	}()

	woken := waitFirst
	if waitFirst {
		c.in.readAhead()
		c.takeReader()
	}
	for {
		var readTimeout time.Duration
		switch c.state {
		case imap.ConnStateAuthenticated, imap.ConnStateSelected:
			readTimeout = idleReadTimeout
		default:
			readTimeout = cmdReadTimeout
		}
		c.setReadTimeout(readTimeout)
		if c.state == imap.ConnStateLogout {
			return
		}
		if !woken && (c.br == nil || c.br.Buffered() == 0) {
			c.releaseReader()
			handedOver = true
			go c.serveCommands(true)
			return
		}
		woken = false

		if c.idling != nil {
			if err := c.endIdle(); err != nil {
				return
			}
			continue
		}

		dec := imapwire.NewDecoder(c.br, imapwire.ConnSideServer)
		dec.MaxSize = maxCommandSize
		dec.CheckBufferedLiteralFunc = c.checkBufferedLiteral

		if dec.EOF() {
			return
		}

		c.setReadTimeout(cmdReadTimeout)
		if err := c.readCommand(dec); err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.server.logger().Printf("failed to read command: %v", err)
			}
			return
		}
	}
}

// end closes the session and the connection.
func (c *Conn) end() {
	if c.idling != nil {
		c.idling.stop()
		c.idling = nil
	}
	if c.session != nil {
		if err := c.session.Close(); err != nil {
			c.server.logger().Printf("failed to close session: %v", err)
		}
	}
	c.server.mutex.Lock()
	delete(c.server.conns, c)
	c.server.mutex.Unlock()
	c.releaseReader()
	c.conn.Close()
}

func (c *Conn) readCommand(dec *imapwire.Decoder) error {
	var tag, name string
	if !dec.ExpectAtom(&tag) || !dec.ExpectSP() || !dec.ExpectAtom(&name) {
		return fmt.Errorf("in command: %w", dec.Err())
	}
	name = strings.ToUpper(name)

	numKind := NumKindSeq
	if name == "UID" {
		numKind = NumKindUID
		var subName string
		if !dec.ExpectSP() || !dec.ExpectAtom(&subName) {
			return fmt.Errorf("in command: %w", dec.Err())
		}
		name = "UID " + strings.ToUpper(subName)
	}

	// TODO: handle multiple commands concurrently
	sendOK := true
	var err error
	switch name {
	case "NOOP", "CHECK":
		err = c.handleNoop(dec)
	case "LOGOUT":
		err = c.handleLogout(dec)
	case "CAPABILITY":
		err = c.handleCapability(dec)
	case "STARTTLS":
		err = c.handleStartTLS(tag, dec)
		sendOK = false
	case "AUTHENTICATE":
		err = c.handleAuthenticate(tag, dec)
		sendOK = false
	case "UNAUTHENTICATE":
		err = c.handleUnauthenticate(dec)
	case "ID":
		err = c.handleID(dec)
	case "COMPRESS":
		err = c.handleCompress(tag, dec)
		sendOK = false
	case "LOGIN":
		err = c.handleLogin(tag, dec)
		sendOK = false
	case "ENABLE":
		err = c.handleEnable(dec)
	case "CREATE":
		err = c.handleCreate(dec)
	case "DELETE":
		err = c.handleDelete(dec)
	case "RENAME":
		err = c.handleRename(dec)
	case "SUBSCRIBE":
		err = c.handleSubscribe(dec)
	case "UNSUBSCRIBE":
		err = c.handleUnsubscribe(dec)
	case "STATUS":
		err = c.handleStatus(dec)
	case "LIST":
		err = c.handleList(dec)
	case "LSUB":
		err = c.handleLSub(dec)
	case "GETQUOTA":
		err = c.handleGetQuota(dec)
	case "GETQUOTAROOT":
		err = c.handleGetQuotaRoot(dec)
	case "SETQUOTA":
		err = c.handleSetQuota(dec)
	case "MYRIGHTS":
		err = c.handleMyRights(dec)
	case "GETACL":
		err = c.handleGetACL(dec)
	case "LISTRIGHTS":
		err = c.handleListRights(dec)
	case "SETACL":
		err = c.handleSetACL(dec)
	case "DELETEACL":
		err = c.handleDeleteACL(dec)
	case "NAMESPACE":
		err = c.handleNamespace(dec)
	case "IDLE":
		err = c.handleIdle(tag, dec)
		sendOK = c.idling == nil // else IDLE's reply follows DONE (endIdle)
	case "SELECT", "EXAMINE":
		err = c.handleSelect(tag, dec, name == "EXAMINE")
		sendOK = false
	case "CLOSE", "UNSELECT":
		err = c.handleUnselect(dec, name == "CLOSE")
	case "APPEND":
		err = c.handleAppend(tag, dec)
		sendOK = false
	case "FETCH", "UID FETCH":
		err = c.handleFetch(dec, numKind)
	case "EXPUNGE":
		err = c.handleExpunge(dec)
	case "UID EXPUNGE":
		err = c.handleUIDExpunge(dec)
	case "STORE", "UID STORE":
		err = c.handleStore(tag, name, dec, numKind)
		sendOK = false
	case "COPY", "UID COPY":
		err = c.handleCopy(tag, dec, numKind)
		sendOK = false
	case "MOVE", "UID MOVE":
		err = c.handleMove(dec, numKind)
	case "SEARCH", "UID SEARCH":
		err = c.handleSearch(tag, dec, numKind)
	case "CANCELUPDATE":
		err = c.handleCancelUpdate(dec)
	case "NOTIFY":
		err = c.handleNotify(dec)
	case "SORT", "UID SORT":
		err = c.handleSort(tag, dec, numKind)
	case "THREAD", "UID THREAD":
		err = c.handleThread(dec, numKind)
	default:
		if c.state == imap.ConnStateNotAuthenticated {
			// Don't allow a single unknown command before authentication to
			// mitigate cross-protocol attacks:
			// https://www-archive.mozilla.org/projects/netlib/portbanning
			c.state = imap.ConnStateLogout
			defer c.Bye("Unknown command")
		}
		err = &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "Unknown command",
		}
	}

	if errors.Is(dec.Err(), imapwire.ErrMaxSizeExceeded) {
		err = errCommandTooLong
		if !dec.SkipLine(maxSkippedCommandSize) {
			c.byeAfterReply = "Command line too long"
		}
	} else {
		dec.DiscardLine()
	}
	if c.byeAfterReply != "" {
		c.state = imap.ConnStateLogout
		defer c.Bye(c.byeAfterReply)
	}
	return c.reply(tag, name, err, sendOK)
}

// reply writes the tagged response of a command that ended with err; on success, after the updates due (poll),
// unless the command wrote its response itself (!sendOK).
func (c *Conn) reply(tag, name string, err error, sendOK bool) error {
	var (
		resp    *imap.StatusResponse
		imapErr *imap.Error
		decErr  *imapwire.DecoderExpectError
	)
	if errors.As(err, &imapErr) {
		resp = (*imap.StatusResponse)(imapErr)
	} else if errors.As(err, &decErr) {
		resp = &imap.StatusResponse{
			Type: imap.StatusResponseTypeBad,
			Code: imap.ResponseCodeClientBug,
			Text: "Syntax error: " + decErr.Message,
		}
	} else if err != nil {
		c.server.logger().Printf("handling %v command: %v", name, err)
		resp = internalServerErrorResp
	} else {
		if !sendOK {
			return nil
		}
		if err := c.poll(name); err != nil {
			return err
		}
		resp = &imap.StatusResponse{
			Type: imap.StatusResponseTypeOK,
			Text: fmt.Sprintf("%v completed", name),
		}
	}
	return c.writeStatusResp(tag, resp)
}

func (c *Conn) handleNoop(dec *imapwire.Decoder) error {
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	return nil
}

func (c *Conn) handleLogout(dec *imapwire.Decoder) error {
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	c.state = imap.ConnStateLogout

	return c.writeStatusResp("", &imap.StatusResponse{
		Type: imap.StatusResponseTypeBye,
		Text: "Logging out",
	})
}

func (c *Conn) handleDelete(dec *imapwire.Decoder) error {
	var name string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&name) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	return c.session.Delete(name)
}

func (c *Conn) handleRename(dec *imapwire.Decoder) error {
	var oldName, newName string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&oldName) || !dec.ExpectSP() || !dec.ExpectMailbox(&newName) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	var options imap.RenameOptions
	return c.session.Rename(oldName, newName, &options)
}

func (c *Conn) handleSubscribe(dec *imapwire.Decoder) error {
	var name string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&name) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	return c.session.Subscribe(name)
}

func (c *Conn) handleUnsubscribe(dec *imapwire.Decoder) error {
	var name string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&name) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	return c.session.Unsubscribe(name)
}

func (c *Conn) checkBufferedLiteral(size int64, nonSync bool) error {
	if size > 4096 && nonSync {
		// The client sends the literal's bytes without waiting: there is no telling where its command ends, so
		// the connection ends after the reply (RFC 7888 section 4).
		c.byeAfterReply = "Literal too large for this command"
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Code: imap.ResponseCodeTooBig,
			Text: "Literals are limited to 4096 bytes for this command",
		}
	}
	if size > 4096 {
		// No continuation request is sent, so the client sends nothing more of this command.
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeTooBig,
			Text: "Literals are limited to 4096 bytes for this command",
		}
	}

	return c.acceptLiteral(size, nonSync)
}

func (c *Conn) acceptLiteral(size int64, nonSync bool) error {
	if nonSync && size > 4096 && !c.server.options.caps().Has(imap.CapLiteralPlus) {
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "Non-synchronizing literals are limited to 4096 bytes",
		}
	}

	if nonSync {
		return nil
	}

	return c.writeContReq("Ready for literal data")
}

func (c *Conn) canAuth() bool {
	if c.state != imap.ConnStateNotAuthenticated {
		return false
	}
	_, isTLS := c.conn.(*tls.Conn)
	return isTLS || c.server.options.InsecureAuth || c.insecureAuthAllowed
}

func (c *Conn) writeStatusResp(tag string, statusResp *imap.StatusResponse) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	return writeStatusResp(enc.Encoder, tag, statusResp)
}

func (c *Conn) writeContReq(text string) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	return writeContReq(enc.Encoder, text)
}

func (c *Conn) writeCapabilityStatus(tag string, typ imap.StatusResponseType, text string) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	return writeCapabilityStatus(enc.Encoder, tag, typ, c.availableCaps(), text)
}

func (c *Conn) checkState(state imap.ConnState) error {
	if state == imap.ConnStateAuthenticated && c.state == imap.ConnStateSelected {
		return nil
	}
	if c.state != state {
		return newClientBugError(fmt.Sprintf("This command is only valid in the %s state", state))
	}
	return nil
}

func (c *Conn) setReadTimeout(dur time.Duration) {
	if dur > 0 {
		c.conn.SetReadDeadline(time.Now().Add(dur))
	} else {
		c.conn.SetReadDeadline(time.Time{})
	}
}

func (c *Conn) setWriteTimeout(dur time.Duration) {
	if dur > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(dur))
	} else {
		c.conn.SetWriteDeadline(time.Time{})
	}
}

func (c *Conn) poll(cmd string) error {
	switch c.state {
	case imap.ConnStateAuthenticated, imap.ConnStateSelected:
		// nothing to do
	default:
		return nil
	}

	allowExpunge := true
	switch cmd {
	case "FETCH", "STORE", "SEARCH", "SORT", "THREAD":
		allowExpunge = false
	}

	w := &UpdateWriter{conn: c, allowExpunge: allowExpunge}
	return c.session.Poll(w, allowExpunge)
}

type responseEncoder struct {
	*imapwire.Encoder
	conn *Conn
}

func newResponseEncoder(conn *Conn) *responseEncoder {
	conn.mutex.Lock()
	quotedUTF8 := conn.enabled.Has(imap.CapIMAP4rev2) || conn.enabled.Has(imap.CapUTF8Accept)
	conn.mutex.Unlock()

	conn.encMutex.Lock() // released by responseEncoder.end
	wireEnc := imapwire.NewEncoder(conn.writer(), imapwire.ConnSideServer)
	wireEnc.QuotedUTF8 = quotedUTF8
	conn.writeTimeout = respWriteTimeout // in case a literal before ended without its Close
	return &responseEncoder{
		Encoder: wireEnc,
		conn:    conn,
	}
}

func (enc *responseEncoder) end() {
	if enc.Encoder == nil {
		panic("imapserver: responseEncoder.end called twice")
	}
	enc.Encoder = nil
	enc.conn.releaseWriter()
	enc.conn.encMutex.Unlock()
}

func (enc *responseEncoder) Literal(size int64) io.WriteCloser {
	enc.conn.writeTimeout = literalWriteTimeout
	return literalWriter{
		WriteCloser: enc.Encoder.Literal(size, nil),
		conn:        enc.conn,
	}
}

type literalWriter struct {
	io.WriteCloser
	conn *Conn
}

func (lw literalWriter) Close() error {
	lw.conn.writeTimeout = respWriteTimeout
	return lw.WriteCloser.Close()
}

func writeStatusResp(enc *imapwire.Encoder, tag string, statusResp *imap.StatusResponse) error {
	if tag == "" {
		tag = "*"
	}
	enc.Atom(tag).SP().Atom(string(statusResp.Type)).SP()
	if statusResp.Code != "" {
		enc.Atom(fmt.Sprintf("[%v]", statusResp.Code)).SP()
	}
	enc.Text(statusResp.Text)
	return enc.CRLF()
}

func writeCapabilityOK(enc *imapwire.Encoder, tag string, caps []imap.Cap, text string) error {
	return writeCapabilityStatus(enc, tag, imap.StatusResponseTypeOK, caps, text)
}

func writeCapabilityStatus(enc *imapwire.Encoder, tag string, typ imap.StatusResponseType, caps []imap.Cap, text string) error {
	if tag == "" {
		tag = "*"
	}

	enc.Atom(tag).SP().Atom(string(typ)).SP().Special('[').Atom("CAPABILITY")
	for _, c := range caps {
		enc.SP().Atom(string(c))
	}
	enc.Special(']').SP().Text(text)
	return enc.CRLF()
}

func writeContReq(enc *imapwire.Encoder, text string) error {
	return enc.Atom("+").SP().Text(text).CRLF()
}

func newClientBugError(text string) error {
	return &imap.Error{
		Type: imap.StatusResponseTypeBad,
		Code: imap.ResponseCodeClientBug,
		Text: text,
	}
}

// UpdateWriter writes status updates.
type UpdateWriter struct {
	conn         *Conn
	allowExpunge bool
}

// WriteExpunge writes an EXPUNGE response.
func (w *UpdateWriter) WriteExpunge(seqNum uint32) error {
	if !w.allowExpunge {
		return fmt.Errorf("imapserver: EXPUNGE updates are not allowed in this context")
	}
	return w.conn.writeExpunge(seqNum)
}

// WriteNumMessages writes an EXISTS response.
func (w *UpdateWriter) WriteNumMessages(n uint32) error {
	return w.conn.writeExists(n)
}

// WriteNumRecent writes an RECENT response (not used in IMAP4rev2, will be ignored).
func (w *UpdateWriter) WriteNumRecent(n uint32) error {
	if w.conn.enabled.Has(imap.CapIMAP4rev2) || !w.conn.server.options.caps().Has(imap.CapIMAP4rev1) {
		return nil
	}
	return w.conn.writeObsoleteRecent(n)
}

// WriteMailboxFlags writes a FLAGS response.
func (w *UpdateWriter) WriteMailboxFlags(flags []imap.Flag) error {
	return w.conn.writeFlags(flags)
}

// WriteMessageFlags writes a FETCH response with FLAGS.
func (w *UpdateWriter) WriteMessageFlags(seqNum uint32, uid imap.UID, flags []imap.Flag) error {
	return w.writeMessageFlagsModSeq(seqNum, uid, flags, 0, false)
}
