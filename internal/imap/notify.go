package imap

import (
	"errors"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// maxNotifyBacklog bounds what one session with NOTIFY collects between two polls: mailboxes with message events,
// and mailbox list changes. A client that stops reading must not make the server keep every change for it: past
// the bound it is told NOTIFICATIONOVERFLOW and notifications stop, as if it had sent NOTIFY NONE (RFC 5465
// section 5.8).
const maxNotifyBacklog = 1000

// notifyEvents is a set of NOTIFY events (RFC 5465 section 5).
type notifyEvents uint8

const (
	evMessageNew notifyEvents = 1 << iota
	evMessageExpunge
	evFlagChange
	evMailboxName
	evSubscriptionChange
)

var notifyEventBits = map[imap.NotifyEventName]notifyEvents{
	imap.NotifyEventMessageNew:         evMessageNew,
	imap.NotifyEventMessageExpunge:     evMessageExpunge,
	imap.NotifyEventFlagChange:         evFlagChange,
	imap.NotifyEventMailboxName:        evMailboxName,
	imap.NotifyEventSubscriptionChange: evSubscriptionChange,
}

// errBadEvent refuses the events this server does not notify: annotations and metadata, which it does not keep.
var errBadEvent = no("BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)",
	"Only these events are notified")

func badNotify(text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: text}
}

// notifier is one session's NOTIFY state. The store's listener records changes into it through the hub; the
// session's poll (after a command, or IDLE's when woken) turns them into STATUS and LIST responses.
type notifier struct {
	mu       sync.Mutex
	wake     func()                  // guarded by mu; called after each recorded change while the session idles
	accounts map[uint64]bool         // guarded by mu; the accounts whose mailbox lists concern the session
	watched  map[uint64]notifyEvents // guarded by mu; message events wanted, by mailbox ID
	boxes    map[uint64]notifyEvents // guarded by mu; what happened in each mailbox since the last poll
	lists    []listEvent             // guarded by mu; list changes since the last poll
	overflow bool                    // guarded by mu
}

type listEvent struct {
	account uint64
	change  store.ListChange
}

// notifyView is what the session goroutine knows to answer a NOTIFY: the client's request, and the mailboxes and
// accounts it named when last computed.
type notifyView struct {
	options *imap.NotifyOptions
	fetch   *imap.FetchOptions // MessageNew's fetch attributes for the selected mailbox; nil: none
	names   map[uint64]string  // client names by mailbox ID
	shared  map[uint64]string  // address of each shared account the session sees; "" for its own
}

// notifyRegistry is the hub's set of sessions with NOTIFY on.
type notifyRegistry struct {
	mu        sync.Mutex
	notifiers map[*notifier]struct{} // guarded by mu
}

func (r *notifyRegistry) add(n *notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notifiers == nil {
		r.notifiers = map[*notifier]struct{}{}
	}
	r.notifiers[n] = struct{}{}
}

func (r *notifyRegistry) remove(n *notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.notifiers, n)
}

// record gives c to every notifier. It runs in the store's listener: in-memory work only.
func (r *notifyRegistry) record(c store.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := range r.notifiers {
		n.record(c)
	}
}

func (n *notifier) record(c store.Change) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.overflow {
		return
	}
	switch {
	case c.List != nil && n.accounts[c.AccountID]:
		n.lists = append(n.lists, listEvent{account: c.AccountID, change: *c.List})
		n.overflow = len(n.lists) > maxNotifyBacklog
	case c.MailboxID != 0:
		happened := changeEvents(c) & n.watched[c.MailboxID]
		if happened == 0 {
			return
		}
		n.boxes[c.MailboxID] |= happened
		n.overflow = len(n.boxes) > maxNotifyBacklog
	default:
		return
	}
	if n.wake != nil {
		n.wake()
	}
}

// setWake makes wake what record calls after each recorded change (IDLE); nil: nothing. Once it returns, the
// wake-up it replaces is not called again.
func (n *notifier) setWake(wake func()) {
	n.mu.Lock()
	n.wake = wake
	n.mu.Unlock()
}

// changeEvents are the message events of a change.
func changeEvents(c store.Change) notifyEvents {
	var ev notifyEvents
	if len(c.Appended) > 0 {
		ev |= evMessageNew
	}
	if len(c.Expunged) > 0 {
		ev |= evMessageExpunge
	}
	if len(c.Flags) > 0 {
		ev |= evFlagChange
	}
	return ev
}

// take empties what was recorded.
func (n *notifier) take() (boxes map[uint64]notifyEvents, lists []listEvent, overflow bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	boxes, lists, overflow = n.boxes, n.lists, n.overflow
	n.boxes, n.lists, n.overflow = map[uint64]notifyEvents{}, nil, false
	return boxes, lists, overflow
}

// Notify implements imapserver.SessionNotify (RFC 5465): NOTIFY SET replaces what the session is told about,
// NOTIFY NONE (nil) ends it.
func (s *session) Notify(options *imap.NotifyOptions) error {
	if options == nil {
		s.stopNotify()
		return nil
	}
	if err := checkNotify(options); err != nil {
		return err
	}
	if s.notifier == nil {
		s.notifier = &notifier{boxes: map[uint64]notifyEvents{}}
		s.srv.hub.notify.add(s.notifier)
	} else {
		s.notifier.take() // what the previous NOTIFY SET collected is not asked for any more
	}
	s.notifyView.options = options
	s.notifyView.fetch = selectedFetch(options)
	if s.sel != nil {
		s.sel.notifiedUpTo = s.sel.lastVisibleUID() // only what arrives from now on
	}
	if err := s.refreshNotify(); err != nil {
		s.stopNotify()
		return err
	}
	if options.Status {
		s.queueInitialStatus()
	}
	return nil
}

// checkNotify refuses events this server does not notify, and event sets RFC 5465 section 5 forbids: MessageNew
// and MessageExpunge go together, and FlagChange needs them.
func checkNotify(options *imap.NotifyOptions) error {
	for _, g := range options.Groups {
		var ev notifyEvents
		for _, e := range g.Events {
			bit, ok := notifyEventBits[e.Name]
			if !ok {
				return errBadEvent
			}
			if e.Fetch != nil && !isSelectedFilter(g.Filter) {
				return badNotify("MessageNew takes fetch attributes only for the selected mailbox")
			}
			ev |= bit
		}
		messages := ev & (evMessageNew | evMessageExpunge)
		if messages != 0 && messages != evMessageNew|evMessageExpunge {
			return badNotify("MessageNew and MessageExpunge must be asked for together")
		}
		if ev&evFlagChange != 0 && messages == 0 {
			return badNotify("FlagChange needs MessageNew and MessageExpunge")
		}
	}
	return nil
}

func isSelectedFilter(f imap.NotifyFilter) bool {
	return f.Kind == imap.NotifyFilterSelected || f.Kind == imap.NotifyFilterSelectedDelayed
}

// selectedFetch is MessageNew's fetch attributes for the selected mailbox, as peeks: being told of a message does
// not mark it read. Nil if none were asked for.
func selectedFetch(options *imap.NotifyOptions) *imap.FetchOptions {
	for _, g := range options.Groups {
		if !isSelectedFilter(g.Filter) {
			continue
		}
		for _, e := range g.Events {
			if e.Fetch == nil {
				continue
			}
			fetch := *e.Fetch
			fetch.BodySection = nil
			for _, sec := range e.Fetch.BodySection {
				peek := *sec
				peek.Peek = true
				fetch.BodySection = append(fetch.BodySection, &peek)
			}
			fetch.BinarySection = nil
			for _, sec := range e.Fetch.BinarySection {
				peek := *sec
				peek.Peek = true
				fetch.BinarySection = append(fetch.BinarySection, &peek)
			}
			return &fetch
		}
	}
	return nil
}

// stopNotify is NOTIFY NONE, also at logout.
func (s *session) stopNotify() {
	if s.notifier != nil {
		s.srv.hub.notify.remove(s.notifier)
		s.notifier = nil
	}
	s.notifyView = notifyView{}
}

// refreshNotify works out again which mailboxes the filters name, after NOTIFY SET and after the mailbox list
// changed.
func (s *session) refreshNotify() error {
	boxes, err := s.listedMailboxes()
	if err != nil {
		return s.storeError("notify", err)
	}
	shared, err := s.sharedAccounts()
	if err != nil {
		return s.storeError("notify", err)
	}
	names := make(map[uint64]string, len(boxes))
	watched := map[uint64]notifyEvents{}
	accounts := map[uint64]bool{}
	for id := range shared {
		accounts[id] = true
	}
	for _, mb := range boxes {
		if mb.NoSelect || mb.ID == 0 {
			continue
		}
		names[mb.ID] = mb.Name
		if ev := s.notifyView.eventsFor(mb.Name, mb.AccountID == s.accountID(), mb.Subscribed); ev != 0 {
			watched[mb.ID] = ev
		}
	}
	s.notifyView.names, s.notifyView.shared = names, shared
	n := s.notifier
	n.mu.Lock()
	n.watched, n.accounts = watched, accounts
	n.mu.Unlock()
	return nil
}

// sharedAccounts maps the session's own account and every shared account it may read to their addresses (own: "").
func (s *session) sharedAccounts() (map[uint64]string, error) {
	out := map[uint64]string{s.accountID(): ""}
	grants, err := s.srv.store.GrantsTo(s.accountID())
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if visibleRights(g.Rights) == 0 {
			continue
		}
		owner, err := s.srv.store.Account(g.Shared)
		if errors.Is(err, store.ErrAccountNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		out[owner.ID] = g.Shared
	}
	return out, nil
}

// eventsFor is what the first event group whose filter names the mailbox asks for (RFC 5465 section 6).
func (v *notifyView) eventsFor(name string, personal, subscribed bool) notifyEvents {
	for _, g := range v.options.Groups {
		if !filterMatches(g.Filter, name, personal, subscribed) {
			continue
		}
		var ev notifyEvents
		for _, e := range g.Events {
			ev |= notifyEventBits[e.Name]
		}
		return ev
	}
	return 0
}

// filterMatches reports whether a NOTIFY filter names a mailbox other than the selected one: the selected mailbox's
// own updates are the ones its tracker sends anyway.
func filterMatches(f imap.NotifyFilter, name string, personal, subscribed bool) bool {
	switch f.Kind {
	case imap.NotifyFilterInboxes:
		return personal && name == "INBOX"
	case imap.NotifyFilterPersonal:
		return personal
	case imap.NotifyFilterSubscribed:
		return subscribed
	case imap.NotifyFilterSubtree:
		for _, root := range f.Mailboxes {
			if name == root || strings.HasPrefix(name, root+string(store.Delimiter)) {
				return true
			}
		}
	case imap.NotifyFilterMailboxes:
		for _, m := range f.Mailboxes {
			if name == m {
				return true
			}
		}
	}
	return false
}

// queueInitialStatus has the next poll send a STATUS of every mailbox with message events (NOTIFY SET STATUS).
func (s *session) queueInitialStatus() {
	n := s.notifier
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, ev := range n.watched {
		if ev&evMessageNew != 0 {
			n.boxes[id] |= ev & (evMessageNew | evFlagChange)
		}
	}
}

// pollNotify writes what was recorded since the last poll: LIST for list changes, then STATUS for the mailboxes
// with message events, except the selected one, whose updates its tracker writes.
func (s *session) pollNotify(w *imapserver.UpdateWriter, sel *selection) error {
	n := s.notifier
	if n == nil {
		return nil
	}
	boxes, lists, overflow := n.take()
	if overflow {
		s.stopNotify()
		return w.WriteNotificationOverflow()
	}
	if err := s.fetchNewMessages(w, sel); err != nil {
		return err
	}
	if len(lists) > 0 {
		if err := s.writeListEvents(w, lists); err != nil {
			return err
		}
		if err := s.refreshNotify(); err != nil {
			return err
		}
	}
	for id, ev := range boxes {
		if sel != nil && sel.mailbox.ID == id {
			continue
		}
		if err := s.writeNotifyStatus(w, id, ev); err != nil {
			return err
		}
	}
	return nil
}

// writeNotifyStatus writes a STATUS with what a client needs after ev in mailbox id: MESSAGES, UIDNEXT and
// UIDVALIDITY for new and expunged messages, HIGHESTMODSEQ too for flag changes (RFC 5465 section 5.2 to 5.4: a
// client that follows flags resynchronises from the modseq, RFC 7162).
func (s *session) writeNotifyStatus(w *imapserver.UpdateWriter, id uint64, ev notifyEvents) error {
	name, ok := s.notifyView.names[id]
	if !ok {
		return nil
	}
	mb, err := s.srv.store.MailboxByID(id)
	if errors.Is(err, store.ErrMailboxNotFound) {
		return nil // deleted since; its LIST tells
	} else if err != nil {
		return s.storeError("notify", err)
	}
	mb.Name = name
	o := &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: ev&evFlagChange != 0}
	data, err := s.statusData(mb, o)
	if err != nil {
		return err
	}
	return w.WriteStatus(data, o)
}

// writeListEvents writes a LIST for each list change a filter asks for: MailboxName (created, deleted as
// \NonExistent, renamed with OLDNAME) and SubscriptionChange (RFC 5465 sections 5.5 and 5.6).
func (s *session) writeListEvents(w *imapserver.UpdateWriter, lists []listEvent) error {
	for _, e := range lists {
		address, ok := s.notifyView.shared[e.account]
		if !ok {
			continue
		}
		ref := mailboxRef{shared: address}
		data := &imap.ListData{Mailbox: ref.clientName(e.change.Name), Delim: store.Delimiter}
		want := evMailboxName
		switch e.change.Kind {
		case store.ListDeleted:
			data.Attrs = []imap.MailboxAttr{imap.MailboxAttrNonExistent}
		case store.ListRenamed:
			data.OldName = ref.clientName(e.change.OldName)
		case store.ListSubscribed:
			data.Attrs, want = []imap.MailboxAttr{imap.MailboxAttrSubscribed}, evSubscriptionChange
		case store.ListUnsubscribed:
			want = evSubscriptionChange
		}
		ev := s.notifyView.eventsFor(data.Mailbox, address == "", e.change.Kind == store.ListSubscribed)
		if data.OldName != "" {
			ev |= s.notifyView.eventsFor(data.OldName, address == "", false)
		}
		if ev&want == 0 {
			continue
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

// fetchNewMessages writes FETCH with MessageNew's attributes for the messages of the selected mailbox that the
// client has been sent EXISTS for since the last time (RFC 5465 section 5.2).
func (s *session) fetchNewMessages(w *imapserver.UpdateWriter, sel *selection) error {
	if sel == nil || s.notifyView.fetch == nil {
		return nil
	}
	if sel.notifiedUpTo == 0 {
		sel.notifiedUpTo = sel.mailbox.UIDNext - 1 // the last UID at SELECT
	}
	last := sel.lastVisibleUID()
	if last <= sel.notifiedUpTo {
		return nil
	}
	set := imap.UIDSet{imap.UIDRange{Start: imap.UID(sel.notifiedUpTo + 1), Stop: imap.UID(last)}}
	sel.notifiedUpTo = last
	return s.Fetch(w.FetchWriter(), set, s.notifyView.fetch)
}

// lastVisibleUID is the UID of the last message the client has been told about, 0 if none.
func (sel *selection) lastVisibleUID() uint32 {
	sel.state.mu.Lock()
	defer sel.state.mu.Unlock()
	if n, _ := sel.lastVisibleLocked(); n > 0 {
		return sel.state.uids[n-1]
	}
	return 0
}
