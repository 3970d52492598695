package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mailserver/internal/address"
	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// resolve returns the accounts that receive mail sent to the local address addr (already normalised):
//
//   - an account: itself (a shared mailbox receives like any account; a disabled one still receives). One that
//     refuses mail (RejectMail) is ErrMailboxDisabled, one that is full ErrOverQuota.
//   - an alias: what its target resolves to. Chains are followed; one that ends nowhere or loops is
//     ErrUnknownRecipient.
//   - a group: its posting policy is checked first (ErrPostOrganisation, ErrPostMembers, ErrPostSenders), then its
//     members are expanded (see expansion). A group nobody in can receive the message is ErrNoMembers.
//
// Copies are deduplicated across all recipients of a message by Commit (copies), so a person reached through
// several recipients gets one copy too.
func (t *Transaction) resolve(ctx context.Context, addr string) ([]store.Account, error) {
	seen := map[string]bool{}
	for name := addr; ; {
		if seen[name] {
			return nil, fmt.Errorf("%s: alias loop at %s: %w", addr, name, ErrUnknownRecipient)
		}
		seen[name] = true
		e, err := t.d.store.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", name, err)
		}
		switch e.Kind {
		case store.KindAccount:
			return t.resolveAccount(addr, e.Account)
		case store.KindAlias:
			name = e.Alias.Target
		case store.KindGroup:
			return t.resolveGroup(ctx, e.Group)
		default:
			if name != addr {
				return nil, fmt.Errorf("%s: alias target %s: %w", addr, name, ErrUnknownRecipient)
			}
			return nil, fmt.Errorf("%s: %w", addr, ErrUnknownRecipient)
		}
	}
}

// resolveAccount is an account named directly or through aliases: refusals here reach the client.
func (t *Transaction) resolveAccount(addr string, a store.Account) ([]store.Account, error) {
	switch {
	case a.RejectMail:
		return nil, fmt.Errorf("%s: %w", addr, ErrMailboxDisabled)
	case overQuota(a, t.env.Size) && !t.env.Internal:
		// A report (a bounce, a delay warning) about the owner's own mail still gets in: refused, it would be lost,
		// and they would believe their mail had gone.
		return nil, fmt.Errorf("%s: %w", addr, ErrOverQuota)
	}
	return []store.Account{a}, nil
}

// resolveGroup checks the posting policy, then expands the members. Nested groups' policies apply too: a group
// reached as a member is skipped (and logged) when this sender may not post to it, so a members-only group cannot
// be reached through a looser group that contains it.
func (t *Transaction) resolveGroup(ctx context.Context, g store.Group) ([]store.Account, error) {
	if err := t.checkPolicy(ctx, g); err != nil {
		return nil, err
	}
	x := t.newExpansion(g.Address)
	x.policies = true
	if err := x.run(ctx, g.Members); err != nil {
		return nil, err
	}
	if len(x.accounts) == 0 {
		return nil, fmt.Errorf("%s: %w", g.Address, ErrNoMembers)
	}
	return x.accounts, nil
}

// checkPolicy says whether this transaction's sender may post to g (nil), or why not. An unset policy is
// organisation, the store's default.
func (t *Transaction) checkPolicy(ctx context.Context, g store.Group) error {
	switch g.Policy {
	case store.PostAnyone:
		return nil
	case store.PostOrganisation, "":
		if t.env.Authenticated == "" {
			return fmt.Errorf("%s: %w", g.Address, ErrPostOrganisation)
		}
		return nil
	case store.PostMembers:
		ok, err := t.isMember(ctx, g)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: %w", g.Address, ErrPostMembers)
		}
		return nil
	case store.PostSenders:
		ok, err := t.listedSender(ctx, g)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: %w", g.Address, ErrPostSenders)
		}
		return nil
	}
	return fmt.Errorf("group %s: unknown posting policy %q", g.Address, g.Policy)
}

// listedSender decides policy senders. On submission, the authenticated account or any address it may send as
// must be among the group's senders. On MX, the envelope sender must be, and since anyone can write any MAIL FROM,
// the transaction then asks the inbound checks to authenticate it (SPF or DKIM) before the message is stored
// (TrustsEnvelopeSender). A MAIL FROM in one of our own domains never counts on MX: local staff send through
// submission, so such a message is forged (or forwarded, and then not theirs).
func (t *Transaction) listedSender(ctx context.Context, g store.Group) (bool, error) {
	if t.env.Authenticated != "" {
		sendAs, err := t.sendAs(ctx)
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(sendAs, func(a string) bool { return auth.AddressOwned(a, g.Senders) }), nil
	}
	if !auth.AddressOwned(t.env.From, g.Senders) {
		return false, nil
	}
	from, err := address.ParseUnquoted(t.env.From)
	if err != nil {
		return false, nil
	}
	local, err := t.d.IsLocalDomain(from.Domain)
	if err != nil {
		return false, fmt.Errorf("sender domain %s: %w", from.Domain, err)
	}
	if !local {
		t.trustsEnvelopeSender = true
	}
	return !local, nil
}

// isMember decides policy members: the authenticated account itself is reached when the group is expanded
// (directly, through an alias of it, a nested group or a unit), whether or not it would receive this message.
// Being allowed to send as a member (a shared mailbox, a group's sender) does not make one a member.
func (t *Transaction) isMember(ctx context.Context, g store.Group) (bool, error) {
	if t.env.Authenticated == "" {
		return false, nil
	}
	me, err := t.d.store.Account(t.env.Authenticated)
	if err != nil {
		return false, fmt.Errorf("group %s: sender account: %w", g.Address, err)
	}
	x := t.newExpansion(g.Address)
	if err := x.run(ctx, g.Members); err != nil {
		return false, err
	}
	return x.received[me.ID], nil
}

// sendAs returns the addresses the authenticated account may send as: the envelope's, or looked up once.
func (t *Transaction) sendAs(ctx context.Context) ([]string, error) {
	if t.env.Authenticated == "" {
		return nil, nil
	}
	if t.env.SendAs != nil {
		return t.env.SendAs, nil
	}
	if t.sendable == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := t.d.store.Account(t.env.Authenticated)
		if errors.Is(err, store.ErrAccountNotFound) {
			return nil, fmt.Errorf("%s: %w", t.env.Authenticated, ErrSenderRevoked)
		}
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", t.env.Authenticated, err)
		}
		if t.sendable, err = t.d.SendableAddresses(a); err != nil {
			return nil, err
		}
	}
	return t.sendable, nil
}

// expansion walks a group's members: nested groups, aliases (followed to their targets), accounts and unit:PATH
// members (every account of the unit and its sub-units as it is now, so staff added later are included). Every
// address is walked at most once, which ends loops (a group containing itself, A → B → A) and gives each person
// at most one copy however many ways they are reached.
//
// Accounts that refuse mail (RejectMail) are skipped and logged; the others receive it. A disabled account without
// RejectMail still receives, as it does when named directly, and so does one over quota: quota is checked for the
// recipients a client names, and a copy accepted for a group is stored like any accepted copy (see store.Deliver).
// unit:PATH members are the unit's staff: shared mailboxes in the unit are not members (their grantees are).
// Members that no longer exist (removed after they were added) and units that were removed are skipped too.
type expansion struct {
	t        *Transaction
	group    string          // the group the client named
	policies bool            // skip nested groups whose posting policy refuses this sender
	visited  map[string]bool // address keys and unit:PATH members already walked
	received map[uint64]bool // accounts reached, by ID, deliverable or not (the members policy checks it)
	accounts []store.Account // those that receive the message, in the order reached
}

func (t *Transaction) newExpansion(group string) *expansion {
	return &expansion{t: t, group: group, visited: map[string]bool{address.Fold(group): true}, received: map[uint64]bool{}}
}

// run walks the members breadth first, with an explicit queue: nesting depth costs no stack.
func (x *expansion) run(ctx context.Context, members []string) error {
	queue := append([]string(nil), members...)
	for len(queue) > 0 {
		m := address.Fold(queue[0])
		queue = queue[1:]
		if x.visited[m] {
			continue
		}
		x.visited[m] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		if path, ok := strings.CutPrefix(m, store.UnitMemberPrefix); ok {
			if err := x.unit(path); err != nil {
				return err
			}
			continue
		}
		e, err := x.t.d.store.Lookup(m)
		if err != nil {
			return fmt.Errorf("group %s: look up member %s: %w", x.group, m, err)
		}
		switch e.Kind {
		case store.KindAccount:
			x.account(e.Account)
		case store.KindAlias:
			queue = append(queue, e.Alias.Target)
		case store.KindGroup:
			if x.policies {
				if err := x.t.checkPolicy(ctx, e.Group); err != nil {
					x.skip(m, "posting policy of the nested group: "+err.Error())
					continue
				}
			}
			queue = append(queue, e.Group.Members...)
		default:
			x.skip(m, "no such address")
		}
	}
	return nil
}

func (x *expansion) unit(path string) error {
	accounts, err := x.t.d.store.UnitAccounts(path, true)
	if errors.Is(err, store.ErrUnitNotFound) {
		x.skip(store.UnitMemberPrefix+path, "no such unit")
		return nil
	}
	if err != nil {
		return fmt.Errorf("group %s: accounts of unit %s: %w", x.group, path, err)
	}
	for _, a := range accounts {
		if a.Shared {
			continue
		}
		if k := address.Fold(a.Address); !x.visited[k] {
			x.visited[k] = true
			x.account(a)
		}
	}
	return nil
}

func (x *expansion) account(a store.Account) {
	if x.received[a.ID] {
		return
	}
	x.received[a.ID] = true
	if a.RejectMail {
		x.skip(a.Address, "mailbox disabled")
		return
	}
	x.accounts = append(x.accounts, a)
}

func (x *expansion) skip(member, reason string) {
	x.t.log.Info("group member skipped", "group", x.group, "member", member, "reason", reason)
}
