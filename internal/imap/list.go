package imap

import (
	"errors"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// List implements imapserver.Session for LIST (RFC 3501, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
// SPECIAL-USE RFC 6154, CHILDREN RFC 3348) and LSUB (which the library turns into LIST with SelectSubscribed).
func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		// LIST "" "": the hierarchy delimiter and root (RFC 3501 6.3.8).
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: store.Delimiter})
	}
	boxes, err := s.listedMailboxes()
	if err != nil {
		return s.storeError("list", err)
	}
	m := newListMatcher(ref, patterns)
	items, err := s.listItems(boxes, m, options)
	if err != nil {
		return err
	}
	if options.SelectSubscribed {
		if items, err = s.addSubscribedNonExistent(items, boxes, m); err != nil {
			return err
		}
	}
	for _, item := range items {
		if err := w.WriteList(item); err != nil {
			return err
		}
	}
	return nil
}

// listedMailboxes are the mailboxes the session may see, named as the client sees them, in name order: its own,
// then those of the shared mailboxes it holds a grant on (sharedMailboxes). Own mailboxes whose names fall in the
// shared namespace (created before it existed) are left out: those names now resolve to shared mailboxes.
func (s *session) listedMailboxes() ([]store.Mailbox, error) {
	own, err := s.srv.store.Mailboxes(s.accountID())
	if err != nil {
		return nil, err
	}
	shared, err := s.sharedMailboxes()
	if err != nil {
		return nil, err
	}
	boxes := make([]store.Mailbox, 0, len(own)+len(shared))
	for _, mb := range own {
		if !inSharedNamespace(mb.Name) {
			boxes = append(boxes, mb)
		}
	}
	boxes = append(boxes, shared...)
	sort.Slice(boxes, func(i, j int) bool { return boxes[i].Name < boxes[j].Name })
	return boxes, nil
}

// sharedMailboxes lists the folders of every shared mailbox the session may read, renamed into the shared
// namespace, with the levels that are no mailbox ("Shared", and "Shared/<address>/INBOX" when the shared INBOX
// has children) as \Noselect placeholders. Subscriptions are the session's own; special-use attributes are
// dropped, so that no client takes a unit's Sent or Drafts for the user's own.
func (s *session) sharedMailboxes() ([]store.Mailbox, error) {
	grants, err := s.srv.store.GrantsTo(s.accountID())
	if err != nil || len(grants) == 0 {
		return nil, err
	}
	subs, err := s.srv.store.Subscriptions(s.accountID())
	if err != nil {
		return nil, err
	}
	subscribed := make(map[string]bool, len(subs))
	for _, name := range subs {
		subscribed[name] = true
	}
	var out []store.Mailbox
	names := map[string]bool{}
	for _, g := range grants {
		if visibleRights(g.Rights) == 0 {
			continue
		}
		owner, err := s.srv.store.Account(g.Shared)
		if errors.Is(err, store.ErrAccountNotFound) {
			continue // removed since the grants were read
		} else if err != nil {
			return nil, err
		}
		boxes, err := s.srv.store.Mailboxes(owner.ID)
		if err != nil {
			return nil, err
		}
		for _, mb := range boxes {
			mb.Name = sharedName(g.Shared, mb.Name)
			mb.SpecialUse = ""
			mb.Subscribed = subscribed[mb.Name]
			out = append(out, mb)
			names[mb.Name] = true
		}
	}
	for _, mb := range out {
		for name := mb.Name; ; {
			i := strings.LastIndexByte(name, store.Delimiter)
			if i < 0 {
				break
			}
			name = name[:i]
			if !names[name] {
				names[name] = true
				out = append(out, store.Mailbox{Name: name, NoSelect: true, Subscribed: subscribed[name]})
			}
		}
	}
	return out, nil
}

// listTree answers "does this mailbox have children, subscribed descendants" for one account's mailboxes.
type listTree struct {
	children        map[string]bool
	subscribedBelow map[string][]string // the subscribed descendants of each mailbox
}

func newListTree(boxes []store.Mailbox) listTree {
	t := listTree{children: map[string]bool{}, subscribedBelow: map[string][]string{}}
	for _, mb := range boxes {
		name := mb.Name
		for {
			i := strings.LastIndexByte(name, store.Delimiter)
			if i < 0 {
				break
			}
			name = name[:i]
			t.children[name] = true
			if mb.Subscribed {
				t.subscribedBelow[name] = append(t.subscribedBelow[name], mb.Name)
			}
		}
	}
	return t
}

// subscribedUnmatched reports whether name has a subscribed descendant that the patterns do not match. RFC 5258
// 3.5 and 4: CHILDINFO is for a mailbox that fails the selection criteria itself but has a descendant that meets
// them and is not returned on its own; a descendant the patterns match is listed itself instead.
func (t listTree) subscribedUnmatched(name string, m *listMatcher) bool {
	for _, child := range t.subscribedBelow[name] {
		if !m.match(child) {
			return true
		}
	}
	return false
}

// listItems selects and describes the mailboxes to return. boxes are in name order (listedMailboxes), so parents
// come before their children.
func (s *session) listItems(boxes []store.Mailbox, m *listMatcher, o *imap.ListOptions) ([]*imap.ListData, error) {
	tree := newListTree(boxes)
	var out []*imap.ListData
	for _, mb := range boxes {
		if !m.match(mb.Name) {
			continue
		}
		childInfo := o.SelectRecursiveMatch && o.SelectSubscribed && !mb.Subscribed && tree.subscribedUnmatched(mb.Name, m)
		if o.SelectSubscribed && !mb.Subscribed && !childInfo {
			continue
		}
		if o.SelectSpecialUse && mb.SpecialUse == "" {
			continue
		}
		item := &imap.ListData{Mailbox: mb.Name, Delim: store.Delimiter, Attrs: listAttrs(mb, tree, o)}
		if childInfo {
			item.ChildInfo = &imap.ListDataChildInfo{Subscribed: true}
		}
		if o.ReturnStatus != nil && !mb.NoSelect {
			status, err := s.statusData(mb, o.ReturnStatus)
			if err != nil {
				return nil, err
			}
			item.Status = status
		}
		out = append(out, item)
	}
	return out, nil
}

// listAttrs are the mailbox attributes of one LIST response. Children and special-use attributes are always sent
// (CHILDREN and SPECIAL-USE allow it without the return options); \Subscribed only when asked for, which includes
// the SUBSCRIBED selection (RFC 5258 3.2) and therefore LSUB.
func listAttrs(mb store.Mailbox, tree listTree, o *imap.ListOptions) []imap.MailboxAttr {
	var attrs []imap.MailboxAttr
	if mb.NoSelect {
		attrs = append(attrs, imap.MailboxAttrNoSelect)
	}
	if tree.children[mb.Name] {
		attrs = append(attrs, imap.MailboxAttrHasChildren)
	} else {
		attrs = append(attrs, imap.MailboxAttrHasNoChildren)
	}
	if mb.Subscribed && (o.ReturnSubscribed || o.SelectSubscribed) {
		attrs = append(attrs, imap.MailboxAttrSubscribed)
	}
	if mb.SpecialUse != "" {
		attrs = append(attrs, imap.MailboxAttr(mb.SpecialUse))
	}
	return attrs
}

// addSubscribedNonExistent adds the subscribed names that have no mailbox (deleted, or never created) to a
// SUBSCRIBED listing, marked \NonExistent (RFC 5258 3.1, RFC 9051 6.3.9), keeping name order.
func (s *session) addSubscribedNonExistent(items []*imap.ListData, boxes []store.Mailbox, m *listMatcher) ([]*imap.ListData, error) {
	subs, err := s.srv.store.Subscriptions(s.accountID())
	if err != nil {
		return nil, s.storeError("list", err)
	}
	exists := make(map[string]bool, len(boxes))
	for _, mb := range boxes {
		exists[mb.Name] = true
	}
	added := false
	for _, name := range subs {
		if exists[name] || !m.match(name) {
			continue
		}
		items = append(items, &imap.ListData{Mailbox: name, Delim: store.Delimiter,
			Attrs: []imap.MailboxAttr{imap.MailboxAttrNonExistent, imap.MailboxAttrSubscribed}})
		added = true
	}
	if added {
		sort.SliceStable(items, func(i, j int) bool { return items[i].Mailbox < items[j].Mailbox })
	}
	return items, nil
}
