package delivery

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailserver/internal/address"
	"mailserver/internal/auth"
	"mailserver/internal/netaddr"
	"mailserver/internal/store"
)

// AuthorizeSender is the submission check at MAIL FROM: the account must still exist and be enabled
// (ErrSenderRevoked), and from must be an address it may send as (ErrSenderNotAllowed). It returns those addresses
// for Envelope.SendAs, so that the rest of the transaction does not look them up again. Any other error is an
// internal failure.
func (d *Deliverer) AuthorizeSender(ctx context.Context, account store.Account, from string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	current, err := d.currentSender(account)
	if err != nil {
		return nil, err
	}
	sendable, err := d.SendableAddresses(current)
	if err != nil {
		return nil, err
	}
	if !auth.AddressOwned(from, sendable) {
		return nil, fmt.Errorf("MAIL FROM <%s>: %w", from, ErrSenderNotAllowed)
	}
	return sendable, nil
}

// SendableAddresses lists the addresses account may use as its envelope sender and in the From and Sender
// headers, its own address first:
//
//   - its own address;
//   - the aliases whose chain of targets ends at it (mail to the alias reaches it, so it may answer as the alias);
//   - the groups whose Senders list it or one of those aliases;
//   - the shared mailboxes on which it has RightSend;
//   - the aliases of those groups and shared mailboxes.
//
// It follows the store's indexes rather than reading every alias and group: the aliases of an address
// (AliasesOf, followed backwards through chains), the groups listing any of the personal addresses as a sender
// (GroupsSentBy) and the account's grants.
func (d *Deliverer) SendableAddresses(account store.Account) ([]string, error) {
	var out addressSet
	out.add(account.Address)
	personal, err := d.aliasesEndingIn([]string{address.Fold(account.Address)})
	if err != nil {
		return nil, err
	}
	for _, a := range personal {
		out.add(a)
	}
	groups, err := d.store.GroupsSentBy(append([]string{address.Fold(account.Address)}, personal...))
	if err != nil {
		return nil, fmt.Errorf("groups sent by %s: %w", account.Address, err)
	}
	grants, err := d.store.GrantsTo(account.ID)
	if err != nil {
		return nil, fmt.Errorf("grants of %s: %w", account.Address, err)
	}
	var delegated addressSet
	for _, g := range groups {
		delegated.add(g)
	}
	for _, g := range grants {
		if g.Rights&store.RightSend != 0 {
			delegated.add(g.Shared)
		}
	}
	for _, a := range delegated.list {
		out.add(a)
	}
	delegatedKeys := make([]string, 0, len(delegated.list))
	for _, a := range delegated.list {
		delegatedKeys = append(delegatedKeys, address.Fold(a))
	}
	aliases, err := d.aliasesEndingIn(delegatedKeys)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		out.add(a)
	}
	return out.list, nil
}

// aliasesEndingIn returns the aliases whose chains of targets end in one of addresses (address keys), in address
// order: the aliases pointing at them, the aliases pointing at those, and so on. An alias in a loop points at
// no address outside it, so it is never reached; seen stops the walk all the same.
func (d *Deliverer) aliasesEndingIn(addresses []string) ([]string, error) {
	seen := map[string]bool{}
	for _, a := range addresses {
		seen[a] = true
	}
	var out []string
	queue := slices.Clone(addresses)
	for len(queue) > 0 {
		addr := queue[0]
		queue = queue[1:]
		aliases, err := d.store.AliasesOf(addr)
		if err != nil {
			return nil, fmt.Errorf("aliases of %s: %w", addr, err)
		}
		for _, a := range aliases {
			if k := address.Fold(a); !seen[k] {
				seen[k] = true
				out = append(out, k)
				queue = append(queue, k)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// addressSet is a list of addresses without repeats (compared by address key), in the order added.
type addressSet struct {
	seen map[string]bool // address keys
	list []string
}

func (s *addressSet) add(addr string) {
	k := address.Fold(addr)
	if k == "" || s.seen[k] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[k] = true
	s.list = append(s.list, addr)
}

// sendAsRecords are the audit records of a submission: one for every address other than the account's own that
// it used as its envelope sender or in its From or Sender header (issue 3: every send-as is audited). They are
// written in the delivery's transaction, so the trail holds exactly the messages that were sent.
func (t *Transaction) sendAsRecords(used []string, messageID string, copies int) []store.AuditRecord {
	var records []store.AuditRecord
	seen := map[string]bool{}
	for _, addr := range used {
		addr = address.Fold(addr)
		if addr == "" || seen[addr] || auth.AddressOwned(addr, []string{t.env.Authenticated}) {
			continue
		}
		seen[addr] = true
		if messageID == "" {
			messageID = "(none)"
		} else if !strings.HasPrefix(messageID, "<") {
			messageID = "<" + messageID + ">"
		}
		records = append(records, store.AuditRecord{
			Actor:  address.Fold(t.env.Authenticated),
			Action: "send-as",
			Target: addr,
			Detail: fmt.Sprintf("message-id %s; recipients: %d; local copies: %d; id %s", messageID, len(t.rcpts), copies, t.id),
			From:   netaddr.Host(t.env.RemoteAddr),
		})
	}
	return records
}
