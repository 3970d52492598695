package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"mailserver/internal/admin"
)

// Server-side limits.
const (
	maxConns     = 16               // connections served at once; more wait in the listen backlog
	idleTimeout  = 30 * time.Second // between requests on one connection
	writeTimeout = 10 * time.Second
	// largeArgsTimeout bounds the reading of arguments that follow their request line.
	largeArgsTimeout = 10 * time.Minute
)

// Serve answers requests on ln with svc until ctx is cancelled, then closes ln, lets each connection finish the
// request it is running, and returns nil. It returns an error if accepting fails for another reason. logger
// receives one line per operation (name, outcome, duration; never arguments, which may hold passwords).
func Serve(ctx context.Context, ln net.Listener, svc *admin.Service, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return newServer(svc, operations, logger).serve(ctx, ln)
}

func newServer(svc *admin.Service, ops map[string]operation, logger *slog.Logger) *server {
	return &server{svc: svc, ops: ops, logger: logger, largeArgs: make(chan struct{}, 1)}
}

// server answers requests with the operations in ops, run on svc.
type server struct {
	svc *admin.Service       // immutable
	ops map[string]operation // immutable: operations, or stand-ins in tests of the wire format
	// largeArgs holds a place while arguments that follow their line are read and run: one at a time.
	largeArgs chan struct{}
	logger    *slog.Logger
}

func (s *server) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxConns)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			ln.Close()
			return fmt.Errorf("control socket: %w", err)
		}
		wg.Go(func() {
			defer func() { <-slots }()
			s.serveConn(ctx, conn)
		})
	}
}

// serveConn answers the requests of one connection in order until the client closes it, stays idle too long, a
// request is malformed beyond reply, or ctx is cancelled between requests.
func (s *server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	defer func() {
		if v := recover(); v != nil { // a safety net: one bad request must not take the server down
			s.logger.Error("control socket: panic", "panic", v)
		}
	}()
	// Cancelling ctx interrupts a connection waiting for its next request; one being answered finishes first.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	r := bufio.NewReaderSize(conn, MaxRequest)
	for {
		conn.SetReadDeadline(time.Now().Add(idleTimeout))
		if ctx.Err() != nil {
			return
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			writeResponse(conn, response{Error: fmt.Sprintf("request larger than %d bytes", MaxRequest)})
			return
		}
		if req, op, ok := s.streamRequest(line); ok {
			s.serveStream(ctx, conn, op, req)
			return // a stream ends its connection: the client reads to the trailer and closes
		}
		if req, ok := argsAfterLine(line); ok {
			writeResponse(conn, s.handleLargeArgs(conn, r, req))
			return // the framing is simplest with one such request per connection
		}
		if len(bytes.TrimSpace(line)) > 0 { // a last line without a newline is answered too
			if writeResponse(conn, s.handle(line)) != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF, a timeout or a broken connection: nothing to answer
		}
	}
}

func writeResponse(conn net.Conn, resp response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(response{Error: "encode response: " + err.Error()})
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = conn.Write(append(b, '\n'))
	return err
}

// handle decodes one request line, runs it and builds the response.
func (s *server) handle(line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: "malformed request: " + err.Error()}
	}
	op, ok := s.ops[req.Op]
	if !ok {
		return response{Error: fmt.Sprintf(unknownOpFormat, req.Op)}
	}
	return s.respond(op, req)
}

// respond runs a decoded request and builds the response.
func (s *server) respond(op operation, req request) response {
	start := time.Now()
	result, err := s.run(op, req)
	if req.Op != ping.Name() && req.Op != Status.Name() { // monitoring asks these every minute or so
		logOperation(s.logger, req, err, time.Since(start))
	}
	if err != nil {
		return response{Error: err.Error(), Code: admin.Code(err)}
	}
	if result == nil {
		return response{OK: true}
	}
	b, err := json.Marshal(result)
	if err != nil {
		return response{Error: "encode result: " + err.Error()}
	}
	return response{OK: true, Result: b}
}

// argsAfterLine tells whether line is a request whose arguments, or raw bytes, follow it (ArgsLen, BodyLen).
func argsAfterLine(line []byte) (request, bool) {
	var req request
	if json.Unmarshal(line, &req) != nil {
		return req, false
	}
	return req, req.ArgsLen != 0 || req.BodyLen != 0
}

// handleLargeArgs reads the arguments and the raw bytes that follow req's line, up to the operation's limit for
// both, and runs it. One such request is read at a time, so the memory they take is bounded by the largest limit.
func (s *server) handleLargeArgs(conn net.Conn, r *bufio.Reader, req request) response {
	op, ok := s.ops[req.Op]
	if !ok {
		return response{Error: fmt.Sprintf(unknownOpFormat, req.Op)}
	}
	large, ok := op.(interface{ argsLimit() int64 })
	if !ok || req.ArgsLen < 0 || req.BodyLen < 0 || req.ArgsLen > large.argsLimit() ||
		req.BodyLen > large.argsLimit()-req.ArgsLen {
		return response{Error: fmt.Sprintf("%s: arguments of %d bytes are more than it takes", req.Op, req.ArgsLen+req.BodyLen)}
	}
	s.largeArgs <- struct{}{}
	defer func() { <-s.largeArgs }()
	conn.SetReadDeadline(time.Now().Add(largeArgsTimeout))
	data := make([]byte, req.ArgsLen+req.BodyLen)
	if _, err := io.ReadFull(r, data); err != nil {
		return response{Error: fmt.Sprintf("%s: read its arguments: %v", req.Op, err)}
	}
	req.Args, req.body = data[:req.ArgsLen], data[req.ArgsLen:]
	return s.respond(op, req)
}

// run runs op with the request's arguments, naming the OS user in the audit records of the changes it makes.
func (s *server) run(op operation, req request) (any, error) {
	svc := s.svc
	if req.As != "" {
		svc = svc.As(req.As)
	}
	return op.answer(svc, req.Args, req.body)
}

// logOperation writes the operation's line: never its arguments, which may hold passwords.
func logOperation(logger *slog.Logger, req request, err error, took time.Duration) {
	attrs := []any{"op", req.Op, "ok", err == nil, "duration", took.Round(time.Millisecond)}
	if req.As != "" {
		attrs = append(attrs, "as", req.As)
	}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	logger.Info("admin operation", attrs...)
}
