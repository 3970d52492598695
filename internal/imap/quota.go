package imap

import (
	"errors"

	"github.com/emersion/go-imap/v2"
)

// QUOTA (RFC 9208) reports the per-account quota that `mailserver quota set` gives. Each account is one quota
// root over all its mailboxes. The session's own account is the root "" (the RFC's examples name the user's root
// so, and like Dovecot's single "User quota" root it is one fixed name whatever the mailbox); a shared mailbox's
// root is its address, so that it cannot be mistaken for the user's own. Only STORAGE is a resource: the store has
// no limit on the number of messages, and a resource is reported only with its limit (RFC 9208 section 5), so
// MESSAGE is neither reported nor advertised. An account without a quota has no quota root.
const ownQuotaRoot = ""

// QuotaResources implements imapserver.SessionQuota (the QUOTA=RES-STORAGE capability).
func (s *session) QuotaResources() []imap.QuotaResourceType {
	return []imap.QuotaResourceType{imap.QuotaResourceStorage}
}

// GetQuotaRoot implements imapserver.SessionQuota: the root of the account that holds the mailbox.
func (s *session) GetQuotaRoot(mailbox string) ([]imap.QuotaData, error) {
	ref, _, err := s.lookup(mailbox)
	if err != nil {
		return nil, s.storeError("getquotaroot", err)
	}
	root := ownQuotaRoot
	if ref.isShared() {
		root = ref.shared
	}
	data, err := s.quotaData(ref.owner, root)
	if err != nil || data == nil {
		return nil, err
	}
	return []imap.QuotaData{*data}, nil
}

// GetQuota implements imapserver.SessionQuota: the session's own root, or that of a shared mailbox it may read.
func (s *session) GetQuota(root string) (*imap.QuotaData, error) {
	owner, root, err := s.quotaRootOwner(root)
	if err != nil {
		return nil, err
	}
	data, err := s.quotaData(owner, root)
	if err == nil && data == nil {
		return nil, errNoSuchQuotaRoot
	}
	return data, err
}

// SetQuota implements imapserver.SessionQuota: QUOTASET is not advertised, the administrator sets quotas.
func (s *session) SetQuota(string, map[imap.QuotaResourceType]int64) error {
	return errQuotaByAdmin
}

// quotaRootOwner maps a root to its account, and to the root's own spelling.
func (s *session) quotaRootOwner(root string) (uint64, string, error) {
	if root == ownQuotaRoot {
		return s.accountID(), root, nil
	}
	ref, err := s.resolve(sharedPrefix + root)
	if errors.Is(err, errNotGranted) || err == nil && !ref.isSharedInbox() {
		return 0, "", errNoSuchQuotaRoot
	}
	if err != nil {
		return 0, "", s.storeError("getquota", err)
	}
	return ref.owner, ref.shared, nil
}

// quotaData reads an account's usage and limit; nil when the account has no quota.
func (s *session) quotaData(owner uint64, root string) (*imap.QuotaData, error) {
	acct, err := s.srv.store.AccountByID(owner)
	if err != nil {
		return nil, s.storeError("quota", err)
	}
	if acct.Quota <= 0 {
		return nil, nil
	}
	// STORAGE counts units of 1024 octets (RFC 9208 section 5.1): usage rounded up, so that a mailbox with mail
	// in it never shows 0, and the limit down, so that a full account shows as full.
	storage := imap.QuotaResource{Type: imap.QuotaResourceStorage, Usage: (acct.Used + 1023) / 1024, Limit: acct.Quota / 1024}
	return &imap.QuotaData{Root: root, Resources: []imap.QuotaResource{storage}}, nil
}
