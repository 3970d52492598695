// Package ctl is the control socket: the channel between the CLI and a running server, which holds the store's
// file lock. Every administration operation is one Op value in operations.go: its name on the wire, its argument
// and result types, and the admin.Service method it runs. The server (Listen, Serve) answers every Op defined
// there; the CLI runs an Op with Call, either through a running server's socket (Dial) or on a Service over the
// store file (Direct), so CLI commands are written once and run either way.
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
// "op" is an Op's name and "args" its argument type in JSON; an operation that takes none (None) is sent without
// "args", and one that returns none is answered without "result". Arguments are decoded strictly: an unknown field
// means the CLI is newer than the server, which is better refused than half done. The protocol has no version
// number: a CLI and a running server of the same build share operations.go, and an operation a server does not
// know is refused by name.
//
// "as" names the operating-system user running the CLI; the server records it in the audit trail of the changes
// the request makes (admin.Service.As).
//
// "error" is the one-line message for the administrator; "code" is its kind (admin.Code), empty for unexpected
// failures. A request line is at most MaxRequest bytes. An operation whose arguments may be larger sends them after
// the line instead, as "args_len" bytes of JSON, and that connection ends with its response. One that carries bulk
// bytes (import.batch: the messages) always does, and sends those bytes raw after the arguments rather than in them,
// "body_len" bytes that its arguments describe (see ImportBatch):
//
//	{"op":"import.batch","args_len":2048,"body_len":10485760}
//	{"address":"an.nv@vinhyen.gov.vn","messages":[{"folder":"INBOX",...}],"lengths":[20480,...]}
//	<exactly body_len bytes: the messages one after another, then the response>
//
// The server reads one such request at a time, up to the operation's own limit for both together. The socket file
// has mode 0600: whoever can connect is the administrator, so passwords travel in requests (never in a process's
// arguments) and error texts are not filtered.
package ctl

import "encoding/json"

// Limits.
const (
	MaxRequest  = 64 << 10 // bytes in one request line, newline included
	MaxResponse = 64 << 20 // bytes in one response line (a list of tens of thousands of users fits)

	pingResult      = "pong"
	unknownOpFormat = "unknown operation %q: are the CLI and the server the same version?"
)

type request struct {
	Op   string          `json:"op"`
	As   string          `json:"as,omitempty"` // the OS user running the CLI
	Args json.RawMessage `json:"args,omitempty"`
	// ArgsLen, when not zero, says the arguments follow the line as that many bytes instead of travelling in it.
	ArgsLen int64 `json:"args_len,omitempty"`
	// BodyLen, when not zero, says that many raw bytes follow the arguments (an operation with a rawCodec).
	BodyLen int64  `json:"body_len,omitempty"`
	body    []byte // the raw bytes, once read
}

type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   string          `json:"code,omitempty"`
}

// None is the argument of an operation that takes none and the result of one that returns none. Neither travels:
// the request has no "args", the response no "result".
type None struct{}

// Arguments of the operations that do not take an admin request type as they are.

// DomainArgs names a domain.
type DomainArgs struct {
	Name string `json:"name"`
}

// DKIMArgs asks for a new DKIM key of algorithm ("rsa" or "ed25519") for domain.
type DKIMArgs struct {
	Domain    string `json:"domain"`
	Algorithm string `json:"algorithm"`
}

// SelectorArgs names one of a domain's DKIM keys.
type SelectorArgs struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
}

// AddressArgs names an account or a group.
type AddressArgs struct {
	Address string `json:"address"`
}

// DisableArgs disables an account; RejectMail also refuses new mail to it.
type DisableArgs struct {
	Address    string `json:"address"`
	RejectMail bool   `json:"reject_mail,omitempty"`
}

// MoveArgs puts an account in another unit ("": none).
type MoveArgs struct {
	Address string `json:"address"`
	Unit    string `json:"unit"`
}

// HandoverArgs hands the mail of account From over to account To.
type HandoverArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// UnitArgs names an org unit and, where the operation sets one, its display name.
type UnitArgs struct {
	Path string `json:"path"`
	Name string `json:"name,omitempty"`
}

// AliasArgs names an alias and, where the operation sets one, its target.
type AliasArgs struct {
	Alias  string `json:"alias"`
	Target string `json:"target,omitempty"`
}

// GrantArgs names a shared mailbox, an account and, for a grant, the rights given.
type GrantArgs struct {
	Shared  string   `json:"shared"`
	Account string   `json:"account"`
	Rights  []string `json:"rights,omitempty"`
}

// QuotaArgs sets an account's quota in bytes (0: unlimited).
type QuotaArgs struct {
	Address string `json:"address"`
	Quota   int64  `json:"quota"`
}

// QueueArgs names a queued message; for queue.retry, an empty ID means every queued message.
type QueueArgs struct {
	ID string `json:"id"`
}

// PasswordArgs sets an account's password (plain text: the server hashes it).
type PasswordArgs struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}

// SieveArgs names one of an account's filter scripts; for sieve.activate, an empty Name turns filtering off.
type SieveArgs struct {
	Address string `json:"address"`
	Name    string `json:"name"`
}

// SievePutArgs stores Script as the account's filter script Name, the active one with Activate. On the wire the
// script's bytes follow the other arguments raw (see sieve.go).
type SievePutArgs struct {
	Address  string
	Name     string
	Script   string
	Activate bool
}

// ExportArgs name an account to export and, for the operations on one folder, the folder; export.read hands out
// the messages UIDs from Offset into the first one on. Format and Dir only go into the audit record.
type ExportArgs struct {
	Address string   `json:"address"`
	Format  string   `json:"format,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	Folder  string   `json:"folder,omitempty"`
	UIDs    []uint32 `json:"uids,omitempty"`
	Offset  int64    `json:"offset,omitempty"`
}

// ExportPieceHeader describes one piece of export.read's body: Length bytes from Offset of message UID, whose whole
// size is Size.
type ExportPieceHeader struct {
	UID    uint32 `json:"uid"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	Size   int64  `json:"size"`
}
