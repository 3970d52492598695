package ctl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"mailserver/internal/admin"
)

// Client-side limits.
const (
	dialTimeout = 2 * time.Second
	pingTimeout = 3 * time.Second
	// callTimeout bounds one operation, password hashing and the store's fsync included.
	callTimeout = time.Minute
)

// ErrNoAnswer means nothing answers on the control socket: no server is running, or it is hung.
var ErrNoAnswer = errors.New("control socket does not answer")

// Client runs administration operations on a running server through its control socket. Each operation uses a
// connection of its own, so a Client stays usable however long the CLI waits between operations (for example
// for a password typed at a prompt). It is safe for concurrent use.
type Client struct {
	path string // immutable
	as   string // immutable: the OS user named in requests (admin.API.As)
}

var _ admin.API = (*Client)(nil)

// Dial returns a client for the control socket at path once a server has answered on it. An error wrapping
// ErrNoAnswer means no server answered there.
func Dial(path string) (*Client, error) {
	c := &Client{path: path}
	var pong string
	if err := c.call(OpPing, nil, &pong, pingTimeout); err != nil {
		return nil, err
	}
	if pong != pingResult {
		return nil, fmt.Errorf("control socket %s: unexpected answer %q to ping", path, pong)
	}
	return c, nil
}

// Close releases the client. Operations hold no connection between calls, so there is nothing to wait for.
func (c *Client) Close() error { return nil }

// As implements admin.API: the copy it returns names osUser in its requests, and the server in its audit records.
func (c *Client) As(osUser string) admin.API {
	cp := *c
	cp.as = osUser
	return &cp
}

// AddDomain implements admin.API.
func (c *Client) AddDomain(name string) error {
	return c.call(OpDomainAdd, domainArgs{Name: name}, nil, callTimeout)
}

// AddDKIMKey implements admin.API. Making an RSA key takes a moment.
func (c *Client) AddDKIMKey(domain, algorithm string) (admin.DKIMKey, error) {
	var k admin.DKIMKey
	err := c.call(OpDomainDKIM, dkimArgs{Domain: domain, Algorithm: algorithm}, &k, callTimeout)
	return k, err
}

// DKIMKeys implements admin.API.
func (c *Client) DKIMKeys(domain string) ([]admin.DKIMKey, error) {
	var out []admin.DKIMKey
	err := c.call(OpDomainKeys, domainArgs{Name: domain}, &out, callTimeout)
	return out, err
}

// RemoveDKIMKey implements admin.API.
func (c *Client) RemoveDKIMKey(domain, selector string) error {
	return c.call(OpDomainDKIMRm, selectorArgs{Domain: domain, Selector: selector}, nil, callTimeout)
}

// ListDomains implements admin.API.
func (c *Client) ListDomains() ([]admin.Domain, error) {
	var out []admin.Domain
	err := c.call(OpDomainList, nil, &out, callTimeout)
	return out, err
}

// RemoveDomain implements admin.API.
func (c *Client) RemoveDomain(name string) error {
	return c.call(OpDomainRemove, domainArgs{Name: name}, nil, callTimeout)
}

// AddUser implements admin.API.
func (c *Client) AddUser(req admin.AddUserRequest) (admin.UserInfo, error) {
	var out admin.UserInfo
	err := c.call(OpUserAdd, req, &out, callTimeout)
	return out, err
}

// ListUsers implements admin.API.
func (c *Client) ListUsers() ([]admin.UserInfo, error) {
	var out []admin.UserInfo
	err := c.call(OpUserList, nil, &out, callTimeout)
	return out, err
}

// SetPassword implements admin.API.
func (c *Client) SetPassword(address, password string) error {
	return c.call(OpUserPasswd, passwordArgs{Address: address, Password: password}, nil, callTimeout)
}

// Disable implements admin.API.
func (c *Client) Disable(address string) error {
	return c.call(OpUserDisable, disableArgs{Address: address}, nil, callTimeout)
}

// DisableRejectingMail implements admin.API.
func (c *Client) DisableRejectingMail(address string) error {
	return c.call(OpUserDisable, disableArgs{Address: address, RejectMail: true}, nil, callTimeout)
}

// Enable implements admin.API.
func (c *Client) Enable(address string) error {
	return c.call(OpUserEnable, addressArgs{Address: address}, nil, callTimeout)
}

// RemoveUser implements admin.API.
func (c *Client) RemoveUser(address string) error {
	return c.call(OpUserRemove, addressArgs{Address: address}, nil, callTimeout)
}

// MoveUser implements admin.API.
func (c *Client) MoveUser(address, unit string) error {
	return c.call(OpUserMove, moveArgs{Address: address, Unit: unit}, nil, callTimeout)
}

// Handover implements admin.API. Copying a large mailbox is one transaction that may take a while, so it gets a
// longer deadline.
func (c *Client) Handover(from, to string) (admin.HandoverResult, error) {
	var out admin.HandoverResult
	err := c.call(OpUserHandover, handoverArgs{From: from, To: to}, &out, 30*time.Minute)
	return out, err
}

// AddUnit implements admin.API.
func (c *Client) AddUnit(path, name string) ([]admin.UnitInfo, error) {
	var out []admin.UnitInfo
	err := c.call(OpUnitAdd, unitArgs{Path: path, Name: name}, &out, callTimeout)
	return out, err
}

// ListUnits implements admin.API.
func (c *Client) ListUnits() ([]admin.UnitInfo, error) {
	var out []admin.UnitInfo
	err := c.call(OpUnitList, nil, &out, callTimeout)
	return out, err
}

// SetUnitName implements admin.API.
func (c *Client) SetUnitName(path, name string) (admin.UnitInfo, error) {
	var out admin.UnitInfo
	err := c.call(OpUnitSet, unitArgs{Path: path, Name: name}, &out, callTimeout)
	return out, err
}

// RemoveUnit implements admin.API.
func (c *Client) RemoveUnit(path string) error {
	return c.call(OpUnitRemove, unitArgs{Path: path}, nil, callTimeout)
}

// AddAlias implements admin.API.
func (c *Client) AddAlias(alias, target string) (admin.AliasInfo, error) {
	var out admin.AliasInfo
	err := c.call(OpAliasAdd, aliasArgs{Alias: alias, Target: target}, &out, callTimeout)
	return out, err
}

// ListAliases implements admin.API.
func (c *Client) ListAliases() ([]admin.AliasInfo, error) {
	var out []admin.AliasInfo
	err := c.call(OpAliasList, nil, &out, callTimeout)
	return out, err
}

// RemoveAlias implements admin.API.
func (c *Client) RemoveAlias(alias string) error {
	return c.call(OpAliasRemove, aliasArgs{Alias: alias}, nil, callTimeout)
}

// AddGroup implements admin.API.
func (c *Client) AddGroup(req admin.AddGroupRequest) (admin.GroupInfo, error) {
	var out admin.GroupInfo
	err := c.call(OpGroupAdd, req, &out, callTimeout)
	return out, err
}

// ListGroups implements admin.API.
func (c *Client) ListGroups() ([]admin.GroupInfo, error) {
	var out []admin.GroupInfo
	err := c.call(OpGroupList, nil, &out, callTimeout)
	return out, err
}

// ShowGroup implements admin.API.
func (c *Client) ShowGroup(address string) (admin.GroupInfo, error) {
	var out admin.GroupInfo
	err := c.call(OpGroupShow, addressArgs{Address: address}, &out, callTimeout)
	return out, err
}

// UpdateGroup implements admin.API.
func (c *Client) UpdateGroup(req admin.GroupUpdate) (admin.GroupInfo, error) {
	var out admin.GroupInfo
	err := c.call(OpGroupUpdate, req, &out, callTimeout)
	return out, err
}

// SetGroup implements admin.API.
func (c *Client) SetGroup(req admin.SetGroupRequest) (admin.GroupInfo, error) {
	var out admin.GroupInfo
	err := c.call(OpGroupSet, req, &out, callTimeout)
	return out, err
}

// RemoveGroup implements admin.API.
func (c *Client) RemoveGroup(address string) error {
	return c.call(OpGroupRemove, addressArgs{Address: address}, nil, callTimeout)
}

// AddShared implements admin.API.
func (c *Client) AddShared(req admin.AddSharedRequest) (admin.UserInfo, error) {
	var out admin.UserInfo
	err := c.call(OpShareAdd, req, &out, callTimeout)
	return out, err
}

// Grant implements admin.API.
func (c *Client) Grant(shared, account string, rights []string) (admin.GrantInfo, error) {
	var out admin.GrantInfo
	err := c.call(OpShareGrant, grantArgs{Shared: shared, Account: account, Rights: rights}, &out, callTimeout)
	return out, err
}

// Revoke implements admin.API.
func (c *Client) Revoke(shared, account string) error {
	return c.call(OpShareRevoke, grantArgs{Shared: shared, Account: account}, nil, callTimeout)
}

// ListShared implements admin.API.
func (c *Client) ListShared() ([]admin.SharedInfo, error) {
	var out []admin.SharedInfo
	err := c.call(OpShareList, nil, &out, callTimeout)
	return out, err
}

// SetQuota implements admin.API.
func (c *Client) SetQuota(address string, quota int64) error {
	return c.call(OpQuotaSet, quotaArgs{Address: address, Quota: quota}, nil, callTimeout)
}

// QuotaReport implements admin.API.
func (c *Client) QuotaReport() (admin.QuotaReport, error) {
	var out admin.QuotaReport
	err := c.call(OpQuotaReport, nil, &out, callTimeout)
	return out, err
}

// AuditLog implements admin.API.
func (c *Client) AuditLog(q admin.AuditQuery) ([]admin.AuditEntry, error) {
	var out []admin.AuditEntry
	err := c.call(OpAudit, q, &out, callTimeout)
	return out, err
}

// ListQueue implements admin.API.
func (c *Client) ListQueue() ([]admin.QueueEntry, error) {
	var out []admin.QueueEntry
	err := c.call(OpQueueList, nil, &out, callTimeout)
	return out, err
}

// ShowQueue implements admin.API.
func (c *Client) ShowQueue(id string) (admin.QueueEntry, error) {
	var out admin.QueueEntry
	err := c.call(OpQueueShow, queueArgs{ID: id}, &out, callTimeout)
	return out, err
}

// RetryQueue implements admin.API. Retrying the whole queue takes a transaction per message, so it gets a longer
// deadline.
func (c *Client) RetryQueue(id string) (int, error) {
	var n int
	err := c.call(OpQueueRetry, queueArgs{ID: id}, &n, 30*time.Minute)
	return n, err
}

// RemoveQueue implements admin.API.
func (c *Client) RemoveQueue(id string) error {
	return c.call(OpQueueRemove, queueArgs{ID: id}, nil, callTimeout)
}

// BounceQueue implements admin.API.
func (c *Client) BounceQueue(id string) error {
	return c.call(OpQueueBounce, queueArgs{ID: id}, nil, callTimeout)
}

// Check implements admin.API. A check reads the whole store, so it gets a longer deadline.
func (c *Client) Check() (admin.CheckReport, error) {
	var r admin.CheckReport
	err := c.call(OpCheck, nil, &r, 30*time.Minute)
	return r, err
}

// call sends one request on a fresh connection and decodes the result into result (if not nil). A failed
// operation comes back as the server's error, kind included (admin.ErrorFromCode).
func (c *Client) call(op string, args, result any, timeout time.Duration) error {
	req := request{Op: op, As: c.as}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("encode %s request: %w", op, err)
		}
		req.Args = b
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", op, err)
	}
	if len(line) >= MaxRequest {
		return fmt.Errorf("%s request is larger than %d bytes", op, MaxRequest)
	}
	conn, err := net.DialTimeout("unix", c.path, dialTimeout)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNoAnswer, c.path, unwrapOp(err))
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("control socket %s: send %s: %w", c.path, op, unwrapOp(err))
	}
	resp, err := readResponse(conn)
	if err != nil {
		if op == OpPing {
			return fmt.Errorf("%w: %s: %w", ErrNoAnswer, c.path, err)
		}
		return fmt.Errorf("control socket %s: no answer to %s (the server may still complete it): %w", c.path, op, err)
	}
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = "the server reported a failure without a reason"
		}
		return admin.ErrorFromCode(resp.Code, resp.Error)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return fmt.Errorf("control socket %s: decode %s result: %w", c.path, op, err)
		}
	}
	return nil
}

func readResponse(conn net.Conn) (response, error) {
	var resp response
	line, err := bufio.NewReader(io.LimitReader(conn, MaxResponse)).ReadBytes('\n')
	if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
		return resp, unwrapOp(err)
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return resp, fmt.Errorf("malformed response: %w", err)
	}
	return resp, nil
}

// unwrapOp drops net.OpError's repetition of the socket path ("dial unix /x/ctl.sock: connect: ...").
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
