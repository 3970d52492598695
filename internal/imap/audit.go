package imap

import (
	"fmt"
	"net"

	"mailserver/internal/store"
)

// Audit actions for changes to shared mailboxes (the audit trail of issue 3, point 5). Each is recorded after the
// store change has committed.
const (
	auditMove    = "shared.move"    // messages moved out of a shared folder
	auditExpunge = "shared.expunge" // messages expunged from a shared folder (EXPUNGE, UID EXPUNGE, CLOSE)
	auditDelete  = "shared.delete"  // a shared folder deleted
	auditRename  = "shared.rename"  // a shared folder renamed
)

// maxAuditUIDs bounds the UID list in an audit record's detail; the count is always exact.
const maxAuditUIDs = 500

// audit records an action of the logged-in account. The change it describes has already committed, so a failure
// to record it cannot undo the change: it is logged as an error and the command still succeeds.
func (s *session) audit(action, target, detail string) {
	rec := store.AuditRecord{Actor: s.account.Address, Action: action, Target: target, Detail: detail,
		From: remoteHost(s.remote)}
	if err := s.srv.store.AddAudit(rec); err != nil {
		s.log.Error("audit record lost", "action", action, "target", target, "detail", detail, "err", err)
	}
}

// auditMessages describes the messages acted on: "3 messages (UIDs 4:5,9)", the UIDs in IMAP set syntax.
func auditMessages(uids []uint32) string {
	set := uidSet(uids[:min(len(uids), maxAuditUIDs)]).String()
	if len(uids) > maxAuditUIDs {
		set += ",…"
	}
	return fmt.Sprintf("%s (UIDs %s)", countMessages(uint32(len(uids))), set)
}

func countMessages(n uint32) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// remoteHost is the client's IP address without the port.
func remoteHost(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
