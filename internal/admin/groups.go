package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailserver/internal/store"
)

// AddGroupRequest describes a new distribution group. Policy is anyone, organisation (the default), members or
// senders.
type AddGroupRequest struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Policy  string `json:"policy,omitempty"`
}

// GroupInfo is a distribution group as the administration layer shows it.
type GroupInfo struct {
	Address string    `json:"address"`
	Name    string    `json:"name,omitempty"`
	Policy  string    `json:"policy"`            // who may send to it: anyone, organisation, members or senders
	Members []string  `json:"members,omitempty"` // addresses, or unit:PATH for every account of a unit and its sub-units
	Senders []string  `json:"senders,omitempty"` // addresses that may send to it (policy senders) and send as it
	Created time.Time `json:"created"`
}

func groupInfo(g store.Group) GroupInfo {
	return GroupInfo{Address: g.Address, Name: g.Name, Policy: string(g.Policy), Members: g.Members, Senders: g.Senders,
		Created: g.Created}
}

// GroupUpdate changes a group's members and senders in one step: all of it is done, or nothing. Adding a member
// or sender that is already there changes nothing; removing one that is not there is an error.
type GroupUpdate struct {
	Group         string   `json:"group"`
	AddMembers    []string `json:"add_members,omitempty"` // addresses (users, aliases, groups, shared mailboxes) or unit:PATH
	RemoveMembers []string `json:"remove_members,omitempty"`
	AddSenders    []string `json:"add_senders,omitempty"` // any address, other agencies' included
	RemoveSenders []string `json:"remove_senders,omitempty"`
}

// SetGroupRequest changes a group's display name, posting policy or both: a nil field keeps what the group has.
type SetGroupRequest struct {
	Group  string  `json:"group"`
	Name   *string `json:"name,omitempty"`   // "" removes the name
	Policy *string `json:"policy,omitempty"` // anyone, organisation, members or senders
}

// PolicyText explains a posting policy in a few words.
func PolicyText(policy string) string {
	switch store.PostingPolicy(policy) {
	case store.PostAnyone:
		return "anyone may send, other agencies included"
	case store.PostOrganisation:
		return "staff of this server may send"
	case store.PostMembers:
		return "only members may send"
	case store.PostSenders:
		return "only the listed senders may send"
	}
	return ""
}

// AddGroup creates a distribution group with no members.
func (s *Service) AddGroup(req AddGroupRequest) (GroupInfo, error) {
	addr, domain, err := cleanNewAddress(req.Address)
	if err != nil {
		return GroupInfo{}, err
	}
	name, err := cleanName(req.Name)
	if err != nil {
		return GroupInfo{}, err
	}
	policy := store.PostOrganisation
	if strings.TrimSpace(req.Policy) != "" {
		if policy, err = store.ParsePostingPolicy(req.Policy); err != nil {
			return GroupInfo{}, &Error{Kind: ErrInvalid, Msg: err.Error()}
		}
	}
	if err := s.checkFree(addr, domain, "group"); err != nil {
		return GroupInfo{}, err
	}
	detail := "policy " + string(policy)
	if name != "" {
		detail = fmt.Sprintf("name %q, %s", name, detail)
	}
	g, err := s.audited("group.add", addr, detail).AddGroup(store.Group{Address: addr, Name: name, Policy: policy})
	switch {
	case errors.Is(err, store.ErrDomainNotFound):
		return GroupInfo{}, noDomain(domain)
	case errors.Is(err, store.ErrExists):
		if err := s.checkFree(addr, domain, "group"); err != nil {
			return GroupInfo{}, err
		}
		return GroupInfo{}, failf(ErrExists, "group %s already exists", addr)
	case err != nil:
		return GroupInfo{}, err
	}
	return groupInfo(g), nil
}

// ListGroups lists every group in address order.
func (s *Service) ListGroups() ([]GroupInfo, error) {
	groups, err := s.st.Groups()
	if err != nil {
		return nil, err
	}
	out := make([]GroupInfo, len(groups))
	for i, g := range groups {
		out[i] = groupInfo(g)
	}
	return out, nil
}

// ShowGroup returns one group with its members and senders.
func (s *Service) ShowGroup(address string) (GroupInfo, error) {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return GroupInfo{}, err
	}
	g, err := s.st.Group(addr)
	if errors.Is(err, store.ErrGroupNotFound) {
		return GroupInfo{}, noGroup(addr)
	}
	return groupInfo(g), err
}

func noGroup(addr string) error {
	return failf(ErrNotFound, "group %s does not exist: see 'mailserver group list'", addr)
}

// UpdateGroup adds and removes members and senders of a group.
func (s *Service) UpdateGroup(req GroupUpdate) (GroupInfo, error) {
	addr, _, err := cleanAddress(req.Group)
	if err != nil {
		return GroupInfo{}, err
	}
	var lists [4][]string
	for i, in := range [][]string{req.AddMembers, req.RemoveMembers, req.AddSenders, req.RemoveSenders} {
		clean := cleanAddressList
		if i < 2 {
			clean = cleanMemberList
		}
		if lists[i], err = clean(in); err != nil {
			return GroupInfo{}, err
		}
	}
	addM, removeM, addS, removeS := lists[0], lists[1], lists[2], lists[3]
	if len(addM)+len(removeM)+len(addS)+len(removeS) == 0 {
		return GroupInfo{}, failf(ErrInvalid, "nothing to change: name the members or senders to add or remove")
	}
	current, err := s.ShowGroup(addr)
	if err != nil {
		return GroupInfo{}, err
	}
	for _, m := range addM {
		if err := s.checkMember(m); err != nil {
			return GroupInfo{}, err
		}
	}
	g, err := s.groupUpdateStore(addr, current, addM, removeM, addS, removeS).UpdateGroup(addr, func(g *store.Group) error {
		var err error
		g.Members, _ = addTo(g.Members, addM)
		if g.Members, _, err = removeFrom(g.Members, removeM, "member", addr); err != nil {
			return err
		}
		g.Senders, _ = addTo(g.Senders, addS)
		g.Senders, _, err = removeFrom(g.Senders, removeS, "sender", addr)
		return err
	})
	if err != nil {
		return GroupInfo{}, groupUpdateErr(err, addr)
	}
	return groupInfo(g), nil
}

// groupUpdateStore is the store writing, with a group update, one audit record for each kind of change it makes
// (members added or removed, senders added or removed), worked out against the group as read just before.
func (s *Service) groupUpdateStore(addr string, current GroupInfo, addM, removeM, addS, removeS []string) *store.Store {
	var records []store.AuditRecord
	note := func(action, verb string, items []string) {
		if len(items) > 0 {
			records = append(records, store.AuditRecord{Actor: s.actor, Action: action, Target: addr,
				Detail: verb + " " + strings.Join(items, ", "), From: auditFrom})
		}
	}
	_, newMembers := addTo(current.Members, addM)
	_, newSenders := addTo(current.Senders, addS)
	note("group.member.add", "added", newMembers)
	note("group.member.remove", "removed", removeM)
	note("group.sender.add", "added", newSenders)
	note("group.sender.remove", "removed", removeS)
	return s.st.WithAudit(records...)
}

// groupUpdateErr explains the store's refusal to update group addr.
func groupUpdateErr(err error, addr string) error {
	var adminErr *Error
	switch {
	case errors.As(err, &adminErr):
		return adminErr
	case errors.Is(err, store.ErrGroupNotFound):
		return noGroup(addr)
	case errors.Is(err, store.ErrUnitNotFound), errors.Is(err, store.ErrNotFound):
		// A member was removed between the check and the update.
		return failf(ErrNotFound, "a new member of group %s no longer exists: see 'mailserver group show %s' and try again", addr, addr)
	}
	return err
}

// addTo returns list with the items not yet in it appended, and those items.
func addTo(list, items []string) (out, added []string) {
	out = slices.Clone(list)
	for _, it := range items {
		if !slices.Contains(out, it) {
			out = append(out, it)
			added = append(added, it)
		}
	}
	return out, added
}

// removeFrom returns list without items; an item that is not in it is an error naming what (member or sender).
func removeFrom(list, items []string, what, group string) (out, removed []string, err error) {
	out = slices.Clone(list)
	for _, it := range items {
		i := slices.Index(out, it)
		if i < 0 {
			return nil, nil, failf(ErrNotFound, "%s is not a %s of group %s: see 'mailserver group show %s'", it, what, group, group)
		}
		out = slices.Delete(out, i, i+1)
		removed = append(removed, it)
	}
	return out, removed, nil
}

// checkMember requires a new member to name something here: an address of this server or an existing unit.
func (s *Service) checkMember(m string) error {
	if unit, ok := strings.CutPrefix(m, store.UnitMemberPrefix); ok {
		return s.checkUnit(unit)
	}
	domain := m[strings.LastIndexByte(m, '@')+1:]
	ok, err := s.st.HasDomain(domain)
	if err != nil {
		return err
	}
	if !ok {
		return failf(ErrInvalid, "member %s is not an address of this server: a group's members are users, aliases, groups and shared mailboxes here, or unit:PATH", m)
	}
	e, err := s.st.Lookup(m)
	if err != nil {
		return err
	}
	if e.Kind == store.KindNone {
		return failf(ErrNotFound, "member %s does not exist: add the user, alias, group or shared mailbox first (see 'mailserver user list')", m)
	}
	return nil
}

// cleanMemberList cleans group members: addresses, or unit:PATH.
func cleanMemberList(members []string) ([]string, error) {
	out := make([]string, 0, len(members))
	for _, m := range members {
		m = strings.TrimSpace(m)
		if len(m) >= len(store.UnitMemberPrefix) && strings.EqualFold(m[:len(store.UnitMemberPrefix)], store.UnitMemberPrefix) {
			unit, err := cleanUnitPath(m[len(store.UnitMemberPrefix):])
			if err != nil {
				return nil, err
			}
			out = append(out, store.UnitMemberPrefix+unit)
			continue
		}
		addr, _, err := cleanAddress(m)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

func cleanAddressList(addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		addr, _, err := cleanAddress(a)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

// SetGroup changes a group's display name and/or posting policy. Values the group already has change nothing and
// are not recorded.
func (s *Service) SetGroup(req SetGroupRequest) (GroupInfo, error) {
	addr, _, err := cleanAddress(req.Group)
	if err != nil {
		return GroupInfo{}, err
	}
	var name string
	if req.Name != nil {
		if name, err = cleanName(*req.Name); err != nil {
			return GroupInfo{}, err
		}
	}
	var policy store.PostingPolicy
	if req.Policy != nil {
		if policy, err = store.ParsePostingPolicy(*req.Policy); err != nil {
			return GroupInfo{}, &Error{Kind: ErrInvalid, Msg: err.Error()}
		}
	}
	if req.Name == nil && req.Policy == nil {
		return GroupInfo{}, failf(ErrInvalid, "nothing to change: give a new name, a posting policy or both")
	}
	current, err := s.ShowGroup(addr)
	if err != nil {
		return GroupInfo{}, err
	}
	var changed []string
	if req.Name != nil && name != current.Name {
		changed = append(changed, fmt.Sprintf("name %q (was %q)", name, current.Name))
	}
	if policy != "" && string(policy) != current.Policy {
		changed = append(changed, fmt.Sprintf("policy %s (was %s)", policy, current.Policy))
	}
	if len(changed) == 0 {
		return current, nil
	}
	g, err := s.audited("group.set", addr, strings.Join(changed, ", ")).UpdateGroup(addr, func(g *store.Group) error {
		if req.Name != nil {
			g.Name = name
		}
		if policy != "" {
			g.Policy = policy
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrGroupNotFound):
		return GroupInfo{}, noGroup(addr)
	case errors.Is(err, store.ErrUnitNotFound), errors.Is(err, store.ErrNotFound):
		// The store checks every member on update; this change adds none, so one of them has gone.
		return GroupInfo{}, failf(ErrNotFound, "a member of group %s no longer exists: see 'mailserver group show %s', remove it with 'mailserver group member remove' and try again",
			addr, addr)
	case err != nil:
		return GroupInfo{}, err
	}
	return groupInfo(g), nil
}

// RemoveGroup removes a group that no alias points at and no other group has as a member.
func (s *Service) RemoveGroup(address string) error {
	addr, _, err := cleanAddress(address)
	if err != nil {
		return err
	}
	g, err := s.ShowGroup(addr)
	if err != nil {
		return err
	}
	if err := s.checkUnreferenced("group", addr); err != nil {
		return err
	}
	detail := fmt.Sprintf("had %d member(s), %d sender(s)", len(g.Members), len(g.Senders))
	if err := s.audited("group.remove", addr, detail).RemoveGroup(addr); errors.Is(err, store.ErrGroupNotFound) {
		return noGroup(addr)
	} else if err != nil {
		return err
	}
	return nil
}
