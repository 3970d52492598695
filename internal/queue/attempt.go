package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/dsn"
	"mailserver/internal/message"
	"mailserver/internal/metrics"
	"mailserver/internal/outbound"
	"mailserver/internal/store"
)

// routeTimeout bounds the DNS lookups that find where a domain's mail goes; a lookup still running then is a
// temporary failure, retried later.
const routeTimeout = time.Minute

// outcome is what an attempt learnt about one recipient.
type outcome struct {
	status store.RecipientStatus
	code   string // enhanced status code
	reply  string
	remote string
	via    string // how the destination was found (outbound.Target.Via), for the metrics
}

// attempt makes one attempt at the pending recipients of one message and records the results.
func (w *Worker) attempt(ctx context.Context, id string) {
	m, err := w.opts.Store.QueuedMessage(id)
	if errors.Is(err, store.ErrQueueNotFound) {
		return // removed meanwhile
	}
	now := w.opts.Now()
	if err != nil {
		w.log.Error("read queued message", delivery.MessageAttr, id, "err", err)
		w.hold(id, now)
		return
	}
	if !m.BounceRequested && m.NextAttempt.After(now) {
		return // attempted and rescheduled after the dispatcher read the due index
	}
	log := w.log.With(delivery.MessageAttr, id, "from", m.From)
	results := map[string]outcome{}
	switch {
	case m.BounceRequested:
		for _, r := range m.Pending() {
			results[r.Address] = outcome{status: store.RecipientFailed, code: "5.0.0",
				reply: "removed from the queue by the mail administrator"}
		}
	default:
		body, err := w.opts.Store.QueuedBody(id)
		if err != nil {
			log.Error("read queued message body", "err", err)
			w.reschedule(id, now)
			return
		}
		if hops := message.CountHops(body); hops > message.MaxHops {
			for _, r := range m.Pending() {
				results[r.Address] = outcome{status: store.RecipientFailed, code: "5.4.6",
					reply: fmt.Sprintf("mail loop: the message passed through %d servers", hops)}
			}
			break
		}
		signed := append(w.sign(log, body), body...)
		w.deliver(ctx, log, m, signed, results)
		cutShort := ctx.Err() != nil
		if cutShort {
			// Shut down mid-attempt: what was settled is kept; the rest was not really tried, so it is not an
			// attempt and stays due for the next start, its last remote reply untouched.
			keepSettled(results)
		}
		w.countAttempts(results)
		if cutShort {
			if len(results) > 0 {
				w.record(log, m, results, w.opts.Now(), false)
			}
			return
		}
	}
	// The next retry counts from the end of this attempt, which may have waited long for a slow server.
	w.record(log, m, results, w.opts.Now(), true)
}

// keepSettled drops the outcomes that leave a recipient pending.
func keepSettled(results map[string]outcome) {
	for addr, o := range results {
		if o.status == store.RecipientPending {
			delete(results, addr)
		}
	}
}

// countAttempts counts what an attempt gave each recipient it tried.
func (w *Worker) countAttempts(results map[string]outcome) {
	for _, o := range results {
		result := metrics.AttemptDeferred
		switch o.status {
		case store.RecipientDelivered:
			result = metrics.AttemptDelivered
		case store.RecipientFailed:
			result = metrics.AttemptFailed
		}
		w.opts.Metrics.OutboundAttempt(result, o.via)
	}
}

// deliver sends the message to each domain of its pending recipients, one connection per domain, concurrently.
func (w *Worker) deliver(ctx context.Context, log *slog.Logger, m store.QueuedMessage, msg []byte, results map[string]outcome) {
	byDomain := map[string][]string{}
	var order []string
	for _, r := range m.Pending() {
		d := domainOf(r.Address)
		if _, ok := byDomain[d]; !ok {
			order = append(order, d)
		}
		byDomain[d] = append(byDomain[d], r.Address)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, domain := range order {
		rcpts := byDomain[domain]
		wg.Go(func() {
			got := w.deliverDomain(ctx, m.From, domain, rcpts, msg)
			mu.Lock()
			defer mu.Unlock()
			for addr, o := range got {
				results[addr] = o
				// "remote" is the client's address on the protocol servers' lines; this is the server's.
				log.Info("delivery attempt", "rcpt", addr, "status", o.status.String(), "code", o.code,
					"remote_mta", o.remote, "reply", o.reply)
			}
		})
	}
	wg.Wait()
}

// deliverDomain routes and sends the message to the recipients of one domain.
func (w *Worker) deliverDomain(ctx context.Context, from, domain string, rcpts []string, msg []byte) map[string]outcome {
	out := map[string]outcome{}
	release, ok := w.acquire(ctx, domain)
	if !ok {
		return out // shutting down: left pending, unchanged
	}
	defer release()
	if local, err := w.opts.Deliverer.IsLocalDomain(domain); err == nil && local {
		return w.deliverLocal(ctx, from, rcpts, msg)
	}
	routeCtx, cancel := context.WithTimeout(ctx, routeTimeout)
	targets, err := w.opts.Router.Targets(routeCtx, domain)
	cancel()
	if err != nil {
		o := outcome{status: store.RecipientPending, code: "4.4.3", reply: err.Error()}
		var re *outbound.Error
		if errors.As(err, &re) {
			o.code, o.reply, o.via = re.Status, re.Text, re.Via
			if re.Permanent {
				o.status = store.RecipientFailed
			}
		}
		for _, r := range rcpts {
			out[r] = o
		}
		return out
	}
	var via string // the targets of one domain are all found the same way
	if len(targets) > 0 {
		via = targets[0].Via
	}
	for _, res := range w.opts.Transport.Deliver(ctx, targets, outbound.Envelope{From: from, Recipients: rcpts}, msg) {
		o := outcome{status: store.RecipientPending, code: res.Reply.Enhanced, reply: res.Reply.String(), remote: res.Reply.Host,
			via: via}
		switch {
		case res.Delivered:
			o.status = store.RecipientDelivered
		case res.Reply.Permanent():
			o.status = store.RecipientFailed
		}
		if o.code == "" {
			o.code = classCode(res.Reply.Code)
		}
		out[res.Recipient] = o
	}
	return out
}

// classCode is the enhanced code for a reply that had none (RFC 3463: X.0.0 by the reply's class).
func classCode(code int) string {
	if code >= 500 {
		return "5.0.0"
	}
	return "4.0.0"
}

// record writes the attempt's results, expires what is too old, and reports failures and delays to the sender.
// The reports are delivered before the results are recorded: a crash in between repeats a report, which is
// better than losing one. A whole attempt (whole) also counts towards the retry schedule; the settled part of one
// cut short only records what it settled.
func (w *Worker) record(log *slog.Logger, m store.QueuedMessage, results map[string]outcome, now time.Time, whole bool) {
	expired := whole && now.Sub(m.Created) >= w.opts.MaxAge
	var failed, delayed []dsn.Recipient
	for i, r := range m.Recipients {
		if r.Status != store.RecipientPending {
			continue
		}
		o, tried := results[r.Address]
		if tried {
			r.Code, r.Reply, r.RemoteMTA, r.Updated = o.code, o.reply, o.remote, now
			r.Status = o.status
		}
		if r.Status == store.RecipientPending && expired {
			// RFC 3463 4.4.7: delivery time expired. Reply stays the remote server's last answer, which the
			// report quotes as such.
			r.Status, r.Code = store.RecipientFailed, "4.4.7"
		}
		switch r.Status {
		case store.RecipientFailed:
			failed = append(failed, reportRecipient(r, dsn.Failed, time.Time{}))
		case store.RecipientPending:
			delayed = append(delayed, reportRecipient(r, dsn.Delayed, m.Created.Add(w.opts.MaxAge)))
		}
		m.Recipients[i] = r
	}
	warn := whole && len(delayed) > 0 && !m.DelayWarned && w.opts.WarnAfter > 0 && now.Sub(m.Created) >= w.opts.WarnAfter
	if len(failed) > 0 {
		w.report(log, m, failed, now)
	}
	if warn {
		w.report(log, m, delayed, now)
	}
	attempts := m.Attempts + 1
	next := now.Add(w.opts.Retry[min(attempts-1, len(w.opts.Retry)-1)])
	_, err := w.opts.Store.UpdateQueued(m.ID, func(q *store.QueuedMessage) error {
		for i, r := range q.Recipients {
			for _, done := range m.Recipients {
				if done.Address == r.Address && r.Status == store.RecipientPending {
					q.Recipients[i] = done
				}
			}
		}
		if !whole {
			return nil
		}
		q.Attempts, q.LastAttempt = attempts, now
		q.DelayWarned = q.DelayWarned || warn
		at := next // not next itself: the store may run this function again
		switch {
		case q.BounceRequested && !m.BounceRequested:
			at = now // asked for while this attempt ran
		case !q.NextAttempt.Equal(m.NextAttempt) && q.NextAttempt.Before(at):
			at = q.NextAttempt // 'queue retry' while this attempt ran: it was meant for the next one
		}
		q.NextAttempt = at
		return nil
	})
	if errors.Is(err, store.ErrQueueNotFound) {
		return // removed by an administrator meanwhile
	}
	if err != nil {
		log.Error("record delivery attempt", "err", err)
		w.hold(m.ID, now)
	}
}

// reschedule retries a message whose attempt could not even start (the store failed), one retry step later.
func (w *Worker) reschedule(id string, now time.Time) {
	_, err := w.opts.Store.UpdateQueued(id, func(q *store.QueuedMessage) error {
		q.NextAttempt = now.Add(w.opts.Retry[0])
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrQueueNotFound) {
		w.log.Error("reschedule queued message", delivery.MessageAttr, id, "err", err)
		w.hold(id, now)
	}
}

func reportRecipient(r store.QueueRecipient, action dsn.Action, retryUntil time.Time) dsn.Recipient {
	return dsn.Recipient{Address: r.Address, Action: action, Status: r.Code, RemoteMTA: r.RemoteMTA,
		Diagnostic: r.Reply, LastAttempt: r.Updated, WillRetryUntil: retryUntil}
}

func domainOf(addr string) string {
	return strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
}

// deliverLocal delivers the message to recipients in this server's own domains (what users' filters forward or
// answer among colleagues) through the Deliverer, as the MX would: a recipient refused for good (unknown,
// disabled) fails, one over its quota or a failed commit stays pending.
func (w *Worker) deliverLocal(ctx context.Context, from string, rcpts []string, msg []byte) map[string]outcome {
	out := map[string]outcome{}
	refused, err := w.opts.Deliverer.DeliverQueued(ctx, w.log, from, rcpts, msg)
	for _, r := range rcpts {
		o := outcome{status: store.RecipientDelivered, code: "2.0.0", reply: "delivered here", remote: "local", via: "local"}
		switch rerr := refused[r]; {
		case rerr != nil && errors.Is(rerr, delivery.ErrOverQuota):
			o = outcome{status: store.RecipientPending, code: "4.2.2", reply: rerr.Error(), remote: "local", via: "local"}
		case rerr != nil:
			o = outcome{status: store.RecipientFailed, code: "5.1.1", reply: rerr.Error(), remote: "local", via: "local"}
		case err != nil:
			o = outcome{status: store.RecipientPending, code: "4.3.0", reply: err.Error(), remote: "local", via: "local"}
		}
		out[r] = o
	}
	return out
}
