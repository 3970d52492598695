package store

// Change describes one committed change to one mailbox, or (AccountRevoked) to an account, for live updates to
// open sessions.
type Change struct {
	MailboxID uint64
	// AccountRevoked means the account with AccountID was disabled or removed: its open sessions must end.
	AccountID      uint64
	AccountRevoked bool
	// SharedRevoked is the id of a shared mailbox account whose grant to AccountID was taken away: sessions of
	// that account with one of its folders selected must lose it at once.
	SharedRevoked uint64
	// Origin is the opaque value the caller passed with the operation (an IMAP session, say), so the listener can
	// skip echoing a change back to the session that made it. Nil for deliveries.
	Origin any

	Appended []uint32     // new UIDs, ascending
	Expunged []uint32     // removed UIDs, ascending
	Flags    []FlagChange // new flag sets of changed messages
	Deleted  bool         // the mailbox itself was deleted
	// Keywords is the mailbox's whole keyword list when this change added a keyword never used in it before
	// (IMAP sends a new FLAGS response then); nil otherwise.
	Keywords []string
}

// FlagChange is a message's flag set after a change.
type FlagChange struct {
	UID    uint32
	Flags  []string
	ModSeq uint64
}

// SetListener registers the function told about every committed change, in commit order. It runs while the next
// commit waits, so it must be quick and must not call back into the Store.
func (s *Store) SetListener(fn func(Change)) {
	s.commitMu.Lock()
	s.listener = fn
	s.commitMu.Unlock()
}

type changes struct {
	list   []Change
	queued bool // the outbound queue changed: wake its worker
}

func (c *changes) add(ch Change) { c.list = append(c.list, ch) }
