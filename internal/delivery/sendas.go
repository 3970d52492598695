package delivery

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"mailserver/internal/auth"
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
// It reads the whole alias and group lists and the account's grants: three store reads, once per MAIL. That is
// cheap for a directory of a few thousand aliases and groups; past that, the store should index aliases by final
// target and groups by sender.
func (d *Deliverer) SendableAddresses(account store.Account) ([]string, error) {
	aliases, err := d.store.Aliases()
	if err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	groups, err := d.store.Groups()
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	grants, err := d.store.GrantsTo(account.ID)
	if err != nil {
		return nil, fmt.Errorf("grants of %s: %w", account.Address, err)
	}
	chains := newAliasChains(aliases)
	var out addressSet
	out.add(account.Address)
	for _, a := range chains.endingIn(out.seen) {
		out.add(a)
	}
	personal := maps.Clone(out.seen) // the account's own address and its aliases
	var delegated addressSet
	for _, g := range groups {
		if slices.ContainsFunc(g.Senders, func(s string) bool { return personal[lower(s)] }) {
			delegated.add(g.Address)
		}
	}
	for _, g := range grants {
		if g.Rights&store.RightSend != 0 {
			delegated.add(g.Shared)
		}
	}
	for _, a := range delegated.list {
		out.add(a)
	}
	for _, a := range chains.endingIn(delegated.seen) {
		out.add(a)
	}
	return out.list, nil
}

// addressSet is a list of addresses without repeats (compared in lower case), in the order added.
type addressSet struct {
	seen map[string]bool // lower-case
	list []string
}

func (s *addressSet) add(addr string) {
	k := lower(addr)
	if k == "" || s.seen[k] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[k] = true
	s.list = append(s.list, addr)
}

// aliasChains follows alias targets to where they end.
type aliasChains map[string]string // alias → target, lower-case

func newAliasChains(aliases []store.Alias) aliasChains {
	c := aliasChains{}
	for _, a := range aliases {
		c[lower(a.Address)] = lower(a.Target)
	}
	return c
}

// end returns the address the chain starting at alias ends in: the first target that is no alias. A chain that
// loops ends nowhere ("").
func (c aliasChains) end(alias string) string {
	seen := map[string]bool{}
	addr := alias
	for {
		target, ok := c[addr]
		if !ok {
			return addr
		}
		if seen[addr] {
			return ""
		}
		seen[addr] = true
		addr = target
	}
}

// endingIn returns the aliases whose chains end in one of the addresses of set, in address order.
func (c aliasChains) endingIn(set map[string]bool) []string {
	var out []string
	for alias := range c {
		if end := c.end(alias); end != "" && set[end] {
			out = append(out, alias)
		}
	}
	slices.Sort(out)
	return out
}

// sendAsRecords are the audit records of a submission: one for every address other than the account's own that
// it used as its envelope sender or in its From or Sender header (issue 3: every send-as is audited). They are
// written in the delivery's transaction, so the trail holds exactly the messages that were sent.
func (t *Transaction) sendAsRecords(used []string, messageID string, copies int) []store.AuditRecord {
	var records []store.AuditRecord
	seen := map[string]bool{}
	for _, addr := range used {
		addr = lower(addr)
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
			Actor:  lower(t.env.Authenticated),
			Action: "send-as",
			Target: addr,
			Detail: fmt.Sprintf("message-id %s; recipients: %d; local copies: %d; id %s", messageID, len(t.rcpts), copies, t.id),
			From:   remoteIP(t.env.RemoteAddr),
		})
	}
	return records
}

// remoteIP is the client's IP address without the port, for the audit trail.
func remoteIP(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP != nil {
		return tcp.IP.String()
	}
	if addr == nil {
		return ""
	}
	return addr.String()
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
