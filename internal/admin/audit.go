package admin

import (
	"strings"
	"time"

	"mailserver/internal/address"
	"mailserver/internal/store"
)

// AuditQuery selects audit records; zero fields match everything.
type AuditQuery struct {
	Account string    `json:"account,omitempty"` // records by or about this address
	Mailbox string    `json:"mailbox,omitempty"` // records whose target contains this mailbox address or name
	Since   time.Time `json:"since,omitzero"`    // at or after
	Limit   int       `json:"limit,omitempty"`   // the newest Limit records; 0: all
}

// AuditEntry is one record of the audit trail: who did what, to what, when and from where.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // an account's address, or "admin:<OS user>" for the CLI
	Action string    `json:"action"` // e.g. "user.add", "share.grant", "send-as", "shared.expunge"
	Target string    `json:"target"` // the address, unit, domain or mailbox acted on
	Detail string    `json:"detail,omitempty"`
	From   string    `json:"from"` // the client's IP address, or "cli"
}

// AuditLog returns the matching audit records, oldest first.
func (s *Service) AuditLog(q AuditQuery) ([]AuditEntry, error) {
	if q.Limit < 0 {
		return nil, failf(ErrInvalid, "limit must not be negative (0 means all)")
	}
	records, err := s.st.AuditLog(store.AuditFilter{
		Account: address.Fold(q.Account),
		Mailbox: cleanMailboxFilter(q.Mailbox),
		Since:   q.Since,
		Limit:   q.Limit,
	})
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(records))
	for i, r := range records {
		out[i] = AuditEntry{Time: r.Time, Actor: r.Actor, Action: r.Action, Target: r.Target, Detail: r.Detail, From: r.From}
	}
	return out, nil
}

// cleanMailboxFilter puts the address part of a mailbox filter in its stored form ("VanThu@vinhyen.gov.vn/INBOX"
// matches targets as they are stored) and keeps the folder name's case.
func cleanMailboxFilter(m string) string {
	m = strings.TrimSpace(m)
	addr, folder, ok := strings.Cut(m, "/")
	switch {
	case ok:
		return address.Fold(addr) + "/" + folder
	case strings.Contains(m, "@"):
		return address.Fold(m)
	}
	return m // a folder name alone
}
