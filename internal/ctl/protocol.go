// Package ctl is the control socket: the channel between the CLI and a running server, which holds the store's
// file lock. The server side (Listen, Serve) runs admin operations on an admin.API; the client (Dial) implements
// admin.API over the socket, so CLI commands are written once and run either way.
//
// # Protocol
//
// A connection carries requests and responses as lines of JSON, one response per request, in order:
//
//	{"op":"user.add","args":{"address":"an.nv@vinhyen.gov.vn","password":"..."}}
//	{"ok":true,"result":{"address":"an.nv@vinhyen.gov.vn",...}}
//	{"op":"domain.remove","args":{"name":"phucyen.gov.vn"}}
//	{"ok":false,"error":"domain phucyen.gov.vn does not exist: see 'mailserver domain list'","code":"not_found"}
//	{"op":"unit.add","as":"hoa","args":{"path":"vinhyen/ubnd","name":"UBND thành phố"}}
//
// "as" names the operating-system user running the CLI; the server records it in the audit trail of the changes
// the request makes (admin.API.As).
//
// "error" is the one-line message for the administrator; "code" is its kind (admin.Code), empty for unexpected
// failures. A request line is at most MaxRequest bytes. The socket file has mode 0600: whoever can connect is the
// administrator, so passwords travel in requests (never in a process's arguments) and error texts are not filtered.
package ctl

import "encoding/json"

// Limits and the operations' names.
const (
	MaxRequest  = 64 << 10 // bytes in one request line, newline included
	MaxResponse = 64 << 20 // bytes in one response line (a list of tens of thousands of users fits)

	OpPing          = "ping"
	OpDomainAdd     = "domain.add"
	OpDomainList    = "domain.list"
	OpDomainRemove  = "domain.remove"
	OpDomainDKIM    = "domain.dkim"
	OpDomainKeys    = "domain.keys"
	OpDomainDKIMRm  = "domain.dkim.remove"
	OpUserAdd       = "user.add"
	OpUserList      = "user.list"
	OpUserPasswd    = "user.passwd"
	OpUserDisable   = "user.disable"
	OpUserEnable    = "user.enable"
	OpUserRemove    = "user.remove"
	OpUserMove      = "user.move"
	OpUserHandover  = "user.handover"
	OpUnitAdd       = "unit.add"
	OpUnitList      = "unit.list"
	OpUnitSet       = "unit.set"
	OpUnitRemove    = "unit.remove"
	OpAliasAdd      = "alias.add"
	OpAliasList     = "alias.list"
	OpAliasRemove   = "alias.remove"
	OpGroupAdd      = "group.add"
	OpGroupList     = "group.list"
	OpGroupShow     = "group.show"
	OpGroupUpdate   = "group.update"
	OpGroupSet      = "group.set"
	OpGroupRemove   = "group.remove"
	OpShareAdd      = "share.add"
	OpShareGrant    = "share.grant"
	OpShareRevoke   = "share.revoke"
	OpShareList     = "share.list"
	OpQuotaSet      = "quota.set"
	OpQuotaReport   = "quota.report"
	OpQueueList     = "queue.list"
	OpQueueShow     = "queue.show"
	OpQueueRetry    = "queue.retry"
	OpQueueRemove   = "queue.remove"
	OpQueueBounce   = "queue.bounce"
	OpAudit         = "audit"
	OpCheck         = "check"
	pingResult      = "pong"
	unknownOpFormat = "unknown operation %q: are the CLI and the server the same version?"
)

type request struct {
	Op   string          `json:"op"`
	As   string          `json:"as,omitempty"` // the OS user running the CLI
	Args json.RawMessage `json:"args,omitempty"`
}

type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   string          `json:"code,omitempty"`
}

// Arguments of the operations; user.add takes an admin.AddUserRequest, group.add an admin.AddGroupRequest,
// group.update an admin.GroupUpdate, group.set an admin.SetGroupRequest, share.add an admin.AddSharedRequest and
// audit an admin.AuditQuery.
type domainArgs struct {
	Name string `json:"name"`
}

type dkimArgs struct {
	Domain    string `json:"domain"`
	Algorithm string `json:"algorithm"`
}

type selectorArgs struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
}

type addressArgs struct {
	Address string `json:"address"`
}

type disableArgs struct {
	Address    string `json:"address"`
	RejectMail bool   `json:"reject_mail,omitempty"`
}

type moveArgs struct {
	Address string `json:"address"`
	Unit    string `json:"unit"`
}

type handoverArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type unitArgs struct {
	Path string `json:"path"`
	Name string `json:"name,omitempty"`
}

type aliasArgs struct {
	Alias  string `json:"alias"`
	Target string `json:"target,omitempty"`
}

type grantArgs struct {
	Shared  string   `json:"shared"`
	Account string   `json:"account"`
	Rights  []string `json:"rights,omitempty"`
}

type quotaArgs struct {
	Address string `json:"address"`
	Quota   int64  `json:"quota"`
}

// queueArgs names a queued message; for queue.retry, an empty ID means every queued message.
type queueArgs struct {
	ID string `json:"id"`
}

type passwordArgs struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}
