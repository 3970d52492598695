package store

import (
	"slices"
	"sync"
)

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
	// Origin is the opaque value the caller passed with the operation (an IMAP session, say), so a subscriber can
	// skip echoing a change back to the session that made it. Nil for deliveries.
	Origin any
	// Commit is the sequence of the transaction that committed the change (bbolt's transaction id): it grows with
	// commit order, changes committed together share it, and a MailboxSnapshot with Commit >= it holds the change.
	Commit uint64

	Appended []uint32     // new UIDs, ascending
	Expunged []uint32     // removed UIDs, ascending
	Flags    []FlagChange // new flag sets of changed messages
	Deleted  bool         // the mailbox itself was deleted
	// Keywords is the mailbox's whole keyword list when this change added a keyword never used in it before
	// (IMAP sends a new FLAGS response then); nil otherwise.
	Keywords []string

	// List is set when the list of mailboxes or of subscriptions of account AccountID changed (IMAP NOTIFY's
	// MailboxName and SubscriptionChange events); nil otherwise.
	List *ListChange
}

// ListChange is one mailbox created, deleted or renamed, or one name subscribed or unsubscribed.
type ListChange struct {
	Kind    ListChangeKind
	Name    string // the mailbox (after a rename, its new name)
	OldName string // ListRenamed: the name before
}

type ListChangeKind int

const (
	ListCreated ListChangeKind = iota + 1
	ListDeleted
	ListRenamed
	ListSubscribed
	ListUnsubscribed
)

// addListChange records a change of the account's mailbox or subscription list.
func (c *changes) addListChange(accountID uint64, lc ListChange) {
	c.add(Change{AccountID: accountID, List: &lc})
}

// addCreated records mailboxes created under names.
func (c *changes) addCreated(accountID uint64, names ...string) {
	for _, name := range names {
		c.addListChange(accountID, ListChange{Kind: ListCreated, Name: name})
	}
}

// FlagChange is a message's flag set after a change.
type FlagChange struct {
	UID    uint32
	Flags  []string
	ModSeq uint64
}

// Subscribe registers fn to be told about every change committed after Subscribe returns, in commit order, and
// returns cancel, after whose return fn is not called again. Every subscriber sees every change, subscribers in
// the order they subscribed.
//
// fn runs after the transaction has committed, on the goroutine that committed it, before that commit's callers
// return and before the next commit: that is what lets the IMAP layer queue its MailboxTracker updates in commit
// order (DESIGN.md section 9). So fn must be quick, must not block on a network peer, and must not call back into
// the Store, Subscribe or a cancel.
func (s *Store) Subscribe(fn func(Change)) (cancel func()) {
	sub := &subscription{notify: fn}
	s.subMu.Lock()
	s.subscriptions = append(s.subscriptions, sub)
	s.subMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.subMu.Lock()
			defer s.subMu.Unlock()
			s.subscriptions = slices.DeleteFunc(s.subscriptions, func(other *subscription) bool { return other == sub })
		})
	}
}

// subscription is one Subscribe call: a pointer, so that its cancel finds it.
type subscription struct {
	notify func(Change)
}

// announceLocked tells every subscriber about each change, in order. subMu is held.
func (s *Store) announceLocked(list []Change) {
	for _, c := range list {
		for _, sub := range s.subscriptions {
			sub.notify(c)
		}
	}
}

type changes struct {
	list   []Change
	queued bool // the outbound queue changed: wake its worker
}

func (c *changes) add(ch Change) { c.list = append(c.list, ch) }
