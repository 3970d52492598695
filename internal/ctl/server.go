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
)

// Serve answers requests on ln with api until ctx is cancelled, then closes ln, lets each connection finish the
// request it is running, and returns nil. It returns an error if accepting fails for another reason. logger
// receives one line per operation (name, outcome, duration; never arguments, which may hold passwords).
func Serve(ctx context.Context, ln net.Listener, api admin.API, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
			serveConn(ctx, conn, api, logger)
		})
	}
}

// serveConn answers the requests of one connection in order until the client closes it, stays idle too long, a
// request is malformed beyond reply, or ctx is cancelled between requests.
func serveConn(ctx context.Context, conn net.Conn, api admin.API, logger *slog.Logger) {
	defer conn.Close()
	defer func() {
		if v := recover(); v != nil { // a safety net: one bad request must not take the server down
			logger.Error("control socket: panic", "panic", v)
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
		if len(bytes.TrimSpace(line)) > 0 { // a last line without a newline is answered too
			if writeResponse(conn, handle(api, line, logger)) != nil {
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
func handle(api admin.API, line []byte, logger *slog.Logger) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Error: "malformed request: " + err.Error()}
	}
	h, ok := handlers[req.Op]
	if !ok {
		return response{Error: fmt.Sprintf(unknownOpFormat, req.Op)}
	}
	start := time.Now()
	if req.As != "" {
		api = api.As(req.As)
	}
	result, err := h(api, req.Args)
	if req.Op != OpPing {
		attrs := []any{"op", req.Op, "ok", err == nil, "duration", time.Since(start).Round(time.Millisecond)}
		if req.As != "" {
			attrs = append(attrs, "as", req.As)
		}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		logger.Info("admin operation", attrs...)
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

type handler func(api admin.API, args json.RawMessage) (any, error)

var handlers = map[string]handler{
	OpPing:        func(admin.API, json.RawMessage) (any, error) { return pingResult, nil },
	OpDomainList:  func(api admin.API, _ json.RawMessage) (any, error) { return api.ListDomains() },
	OpUserList:    func(api admin.API, _ json.RawMessage) (any, error) { return api.ListUsers() },
	OpUnitList:    func(api admin.API, _ json.RawMessage) (any, error) { return api.ListUnits() },
	OpAliasList:   func(api admin.API, _ json.RawMessage) (any, error) { return api.ListAliases() },
	OpGroupList:   func(api admin.API, _ json.RawMessage) (any, error) { return api.ListGroups() },
	OpShareList:   func(api admin.API, _ json.RawMessage) (any, error) { return api.ListShared() },
	OpQuotaReport: func(api admin.API, _ json.RawMessage) (any, error) { return api.QuotaReport() },
	OpCheck:       func(api admin.API, _ json.RawMessage) (any, error) { return api.Check() },
	OpQueueList:   func(api admin.API, _ json.RawMessage) (any, error) { return api.ListQueue() },
	OpDomainAdd:   withArgs(func(api admin.API, a domainArgs) (any, error) { return nil, api.AddDomain(a.Name) }),
	OpDomainRemove: withArgs(func(api admin.API, a domainArgs) (any, error) {
		return nil, api.RemoveDomain(a.Name)
	}),
	OpDomainDKIMRm: withArgs(func(api admin.API, a selectorArgs) (any, error) {
		return nil, api.RemoveDKIMKey(a.Domain, a.Selector)
	}),
	OpDomainDKIM: withArgs(func(api admin.API, a dkimArgs) (any, error) { return api.AddDKIMKey(a.Domain, a.Algorithm) }),
	OpDomainKeys: withArgs(func(api admin.API, a domainArgs) (any, error) { return api.DKIMKeys(a.Name) }),
	OpUserAdd:    withArgs(func(api admin.API, req admin.AddUserRequest) (any, error) { return api.AddUser(req) }),
	OpUserPasswd: withArgs(func(api admin.API, a passwordArgs) (any, error) {
		return nil, api.SetPassword(a.Address, a.Password)
	}),
	OpUserDisable: withArgs(func(api admin.API, a disableArgs) (any, error) {
		if a.RejectMail {
			return nil, api.DisableRejectingMail(a.Address)
		}
		return nil, api.Disable(a.Address)
	}),
	OpUserEnable: withArgs(func(api admin.API, a addressArgs) (any, error) { return nil, api.Enable(a.Address) }),
	OpUserRemove: withArgs(func(api admin.API, a addressArgs) (any, error) { return nil, api.RemoveUser(a.Address) }),
	OpUserMove:   withArgs(func(api admin.API, a moveArgs) (any, error) { return nil, api.MoveUser(a.Address, a.Unit) }),
	OpUserHandover: withArgs(func(api admin.API, a handoverArgs) (any, error) {
		return api.Handover(a.From, a.To)
	}),
	OpUnitAdd:    withArgs(func(api admin.API, a unitArgs) (any, error) { return api.AddUnit(a.Path, a.Name) }),
	OpUnitSet:    withArgs(func(api admin.API, a unitArgs) (any, error) { return api.SetUnitName(a.Path, a.Name) }),
	OpUnitRemove: withArgs(func(api admin.API, a unitArgs) (any, error) { return nil, api.RemoveUnit(a.Path) }),
	OpAliasAdd:   withArgs(func(api admin.API, a aliasArgs) (any, error) { return api.AddAlias(a.Alias, a.Target) }),
	OpAliasRemove: withArgs(func(api admin.API, a aliasArgs) (any, error) {
		return nil, api.RemoveAlias(a.Alias)
	}),
	OpGroupAdd:    withArgs(func(api admin.API, req admin.AddGroupRequest) (any, error) { return api.AddGroup(req) }),
	OpGroupShow:   withArgs(func(api admin.API, a addressArgs) (any, error) { return api.ShowGroup(a.Address) }),
	OpGroupUpdate: withArgs(func(api admin.API, req admin.GroupUpdate) (any, error) { return api.UpdateGroup(req) }),
	OpGroupSet:    withArgs(func(api admin.API, req admin.SetGroupRequest) (any, error) { return api.SetGroup(req) }),
	OpGroupRemove: withArgs(func(api admin.API, a addressArgs) (any, error) { return nil, api.RemoveGroup(a.Address) }),
	OpShareAdd:    withArgs(func(api admin.API, req admin.AddSharedRequest) (any, error) { return api.AddShared(req) }),
	OpShareGrant: withArgs(func(api admin.API, a grantArgs) (any, error) {
		return api.Grant(a.Shared, a.Account, a.Rights)
	}),
	OpShareRevoke: withArgs(func(api admin.API, a grantArgs) (any, error) {
		return nil, api.Revoke(a.Shared, a.Account)
	}),
	OpQuotaSet: withArgs(func(api admin.API, a quotaArgs) (any, error) { return nil, api.SetQuota(a.Address, a.Quota) }),
	OpAudit:    withArgs(func(api admin.API, q admin.AuditQuery) (any, error) { return api.AuditLog(q) }),

	OpQueueShow:   withArgs(func(api admin.API, a queueArgs) (any, error) { return api.ShowQueue(a.ID) }),
	OpQueueRetry:  withArgs(func(api admin.API, a queueArgs) (any, error) { return api.RetryQueue(a.ID) }),
	OpQueueRemove: withArgs(func(api admin.API, a queueArgs) (any, error) { return nil, api.RemoveQueue(a.ID) }),
	OpQueueBounce: withArgs(func(api admin.API, a queueArgs) (any, error) { return nil, api.BounceQueue(a.ID) }),
}

// withArgs decodes an operation's arguments strictly (an unknown field means the CLI is newer than the server:
// better refused than half done) and runs fn.
func withArgs[A any](fn func(admin.API, A) (any, error)) handler {
	return func(api admin.API, raw json.RawMessage) (any, error) {
		var args A
		if len(raw) == 0 {
			return nil, errors.New("malformed request: missing args")
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&args); err != nil {
			return nil, fmt.Errorf("malformed request: %w", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("malformed request: data after args")
		}
		return fn(api, args)
	}
}
