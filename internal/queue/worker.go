// Package queue is the outbound queue's worker: it takes the messages internal/delivery queued for other servers
// (in the store, in the same transaction as the local copies), signs them with the sender domain's DKIM keys,
// hands them to internal/outbound for routing and SMTP, records each recipient's result, retries on a schedule,
// and tells the sender with a delivery status notification (internal/dsn) when a recipient fails for good, when
// a message expires, and once when it is delayed.
//
// The queue lives in the store, so it survives restarts and crashes: the worker keeps nothing that matters in
// memory. An attempt cut short by a crash is simply made again (the remote server may then get a message twice,
// which SMTP allows; losing one is not allowed).
//
// # Reading the source
//
//   - worker.go: Options, the scheduling loop, concurrency limits.
//   - attempt.go: one attempt at one message: group by domain, deliver, record.
//   - report.go: the bounces and delay warnings.
//   - sign.go: DKIM signing with the keys of the From domain.
package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/metrics"
	"mailserver/internal/outbound"
	"mailserver/internal/store"
)

// Router finds where mail for a domain goes; *outbound.Router is one.
type Router interface {
	Targets(ctx context.Context, domain string) ([]outbound.Target, error)
}

// Transport sends one message to the recipients of one domain over one connection; *outbound.Client is one.
type Transport interface {
	Deliver(ctx context.Context, targets []outbound.Target, env outbound.Envelope, message []byte) []outbound.Result
}

// Options configure a Worker. Store, Deliverer, Router and Transport are required.
type Options struct {
	Store     *store.Store
	Deliverer *delivery.Deliverer // delivers the reports to senders
	Router    Router
	Transport Transport
	Hostname  string // names this server in reports

	// Retry is the wait before each further attempt; after the last step it repeats.
	Retry     []time.Duration
	MaxAge    time.Duration // give up after this long (default 5 days)
	WarnAfter time.Duration // tell the sender once that the message is delayed; 0: never
	// Concurrency bounds messages in progress at once, and deliveries (one per message and domain);
	// PerDestination bounds deliveries to one domain.
	Concurrency    int
	PerDestination int

	Logger  *slog.Logger
	Metrics *metrics.Metrics // counts attempts and reports; nil counts nothing
	Now     func() time.Time // tests
}

// DefaultRetry is the retry schedule when Options.Retry is empty.
var DefaultRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	2 * time.Hour, 4 * time.Hour}

// pollInterval bounds how long the worker sleeps without looking at the queue, as a safety net: commits wake it
// at once, and the next due time wakes it when nothing is committed.
const pollInterval = 30 * time.Second

// Worker delivers the queue. Run it once; it stops when its context ends.
type Worker struct {
	opts Options
	log  *slog.Logger

	slots chan struct{} // deliveries in progress, overall

	mu       sync.Mutex
	inflight map[string]bool         // guarded by mu: messages being attempted
	held     map[string]time.Time    // guarded by mu: messages whose result could not be saved, until when
	domains  map[string]*destination // guarded by mu: deliveries in progress per domain
}

// destination limits the deliveries to one domain; it is dropped when nobody uses it, so that the map does not
// grow with every domain ever written to.
type destination struct {
	slots chan struct{}
	users int // guarded by Worker.mu: attempts holding or waiting for a slot
}

// New returns a worker; call Run to start it.
func New(opts Options) *Worker {
	if len(opts.Retry) == 0 {
		opts.Retry = DefaultRetry
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 5 * 24 * time.Hour
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 20
	}
	if opts.PerDestination <= 0 || opts.PerDestination > opts.Concurrency {
		opts.PerDestination = min(4, opts.Concurrency)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{opts: opts, log: opts.Logger, slots: make(chan struct{}, opts.Concurrency),
		inflight: map[string]bool{}, held: map[string]time.Time{}, domains: map[string]*destination{}}
}

// Run delivers due messages until ctx ends, then waits for the attempts in progress: they see ctx cancelled,
// give up their connections, and record what they learnt, so nothing is lost and the rest is retried at the next
// start.
func (w *Worker) Run(ctx context.Context) {
	var attempts sync.WaitGroup
	defer attempts.Wait()
	done := make(chan struct{}, 1)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.opts.Store.QueueSignal():
		case <-done:
		}
		next := w.dispatch(ctx, &attempts, done)
		timer.Reset(next)
	}
}

// dispatch starts attempts for the due messages that are not in progress, as far as the concurrency limit allows,
// and returns how long to sleep before looking again.
func (w *Worker) dispatch(ctx context.Context, attempts *sync.WaitGroup, done chan struct{}) time.Duration {
	now := w.opts.Now()
	w.mu.Lock()
	room := w.opts.Concurrency - len(w.inflight)
	busy := len(w.inflight)
	w.mu.Unlock()
	if room <= 0 {
		return pollInterval // an attempt finishing sends on done
	}
	w.mu.Lock()
	held := len(w.held)
	w.mu.Unlock()
	ids, next, err := w.opts.Store.DueMessages(now, room+busy+held)
	if err != nil {
		w.log.Error("read the queue", "err", err)
		return pollInterval
	}
	started := 0
	for _, id := range ids {
		if started == room {
			break
		}
		w.mu.Lock()
		if w.inflight[id] || w.isHeldLocked(id, now) {
			w.mu.Unlock()
			continue
		}
		w.inflight[id] = true
		w.mu.Unlock()
		started++
		attempts.Add(1)
		go func() {
			defer attempts.Done()
			w.attempt(ctx, id)
			w.mu.Lock()
			delete(w.inflight, id)
			w.mu.Unlock()
			select {
			case done <- struct{}{}:
			default:
			}
		}()
	}
	if len(ids) > started || next.IsZero() {
		return pollInterval
	}
	return min(max(next.Sub(now), 0), pollInterval)
}

// InProgress reports whether an attempt at the queued message id is under way, so that an administrator removing
// or bouncing it can be told that the attempt may still deliver it.
func (w *Worker) InProgress(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inflight[id]
}

// hold keeps a message from being attempted again before the first retry step has passed, when the store could
// not record its last attempt (a full disk, say): its due time in the store is then still in the past, and
// without this the worker would send it again and again, to every recipient, as fast as it could.
func (w *Worker) hold(id string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held[id] = now.Add(w.opts.Retry[0])
}

// isHeldLocked says whether id is held at now, forgetting holds that have run out. w.mu is held.
func (w *Worker) isHeldLocked(id string, now time.Time) bool {
	until, ok := w.held[id]
	if ok && !now.Before(until) {
		delete(w.held, id)
		return false
	}
	return ok
}

// acquire takes a delivery slot overall and one for domain, in that order, or returns false when ctx ends first.
func (w *Worker) acquire(ctx context.Context, domain string) (release func(), ok bool) {
	w.mu.Lock()
	dest, found := w.domains[domain]
	if !found {
		dest = &destination{slots: make(chan struct{}, w.opts.PerDestination)}
		w.domains[domain] = dest
	}
	dest.users++
	w.mu.Unlock()
	leave := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if dest.users--; dest.users == 0 {
			delete(w.domains, domain)
		}
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, false
	}
	select {
	case dest.slots <- struct{}{}:
	case <-ctx.Done():
		<-w.slots
		leave()
		return nil, false
	}
	return func() {
		<-dest.slots
		<-w.slots
		leave()
	}, true
}
