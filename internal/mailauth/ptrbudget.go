package mailauth

import (
	"context"
	"slices"
	"sync"
	"time"
)

// ptrBudget bounds the time spent on the lookups the client's reverse DNS drives: the PTR lookup of its address
// for SPF's "ptr" mechanism, and the forward lookups that check the names it returns (RFC 7208 5.5). Those zones
// belong to whoever controls the client's address, a forger included, and SPF evaluates its mechanisms one after
// another: sharing the verification's deadline, a reverse zone that answers slowly would spend the time of the
// forged domain's own lookups, which would be abandoned, and the temperror that makes is accepted. The budget runs
// from the first reverse lookup, and all of them share it.
type ptrBudget struct {
	budget time.Duration

	mu       sync.Mutex
	deadline time.Time // zero until the first reverse lookup
	pending  []string  // names of the last reverse lookup whose forward checks are still to come, in order
}

// maxForwardChecks is how many of the names a reverse lookup returns SPF checks; the rest are ignored
// (RFC 7208 4.6.4), and a lookup of one of them is not a forward check.
const maxForwardChecks = 10

// within returns ctx limited to the budget. The budget starts running on the first call.
func (p *ptrBudget) within(ctx context.Context) (context.Context, context.CancelFunc) {
	if p == nil {
		return ctx, func() {}
	}
	p.mu.Lock()
	if p.deadline.IsZero() {
		p.deadline = time.Now().Add(p.budget)
	}
	deadline := p.deadline
	p.mu.Unlock()
	return context.WithDeadline(ctx, deadline)
}

// expectForwardChecks notes the names a reverse lookup returned: SPF checks each of them next, in order.
func (p *ptrBudget) expectForwardChecks(names []string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = slices.Clone(names[:min(len(names), maxForwardChecks)])
}

// isForwardCheck reports whether an address lookup of host is the next forward check expected. Any other address
// lookup means the checks are over: a forged domain's own "a:" mechanism naming a host the reverse zone also
// returned is then not held to the budget, which the reverse zone may have spent.
func (p *ptrBudget) isForwardCheck(host string) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) > 0 && p.pending[0] == host {
		p.pending = p.pending[1:]
		return true
	}
	p.pending = nil
	return false
}
