package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// webConfig is one run of the web mode.
type webConfig struct {
	User     string
	Mailbox  string
	Users    int           // concurrent webmail sessions, then as many IMAP connections
	Requests int           // list pages and message pages each side fetches, of each kind; 0: until Duration
	Duration time.Duration // bound of each side
	TLS      tlsMode       // of the IMAP connections
	Seed     uint64
}

// webPageSize is the number of messages on one list page (internal/webmail.PageSize).
const webPageSize = 50

// webSide is what one side, the webmail or IMAP, measured.
type webSide struct {
	List, Read []time.Duration
	Elapsed    time.Duration
}

// webResult is what the web mode measured: the same work as webmail pages and as their IMAP equivalents.
type webResult struct {
	Messages  int
	Web, IMAP webSide
}

// pageWorker is one user fetching list pages and messages: a webmail session or an IMAP connection.
type pageWorker interface {
	list(ctx context.Context, pageNo int, uids []uint32) error
	read(ctx context.Context, uid uint32) error
	close()
}

func runWeb(ctx context.Context, t target, cfg webConfig) (webResult, error) {
	var res webResult
	if t.HTTPS == "" {
		return res, errors.New("no webmail address: give -https-addr")
	}
	uids, err := mailboxUIDs(t, cfg)
	if err != nil {
		return res, err
	}
	res.Messages = len(uids)
	web, err := openWorkers(cfg.Users, func() (pageWorker, error) {
		u, err := newWebUser(ctx, t, t.HTTPS, cfg.User)
		return webWorker{u, cfg.Mailbox}, err
	})
	if err != nil {
		return res, err
	}
	if res.Web, err = driveSide(ctx, cfg, uids, web); err != nil {
		return res, fmt.Errorf("webmail: %w", err)
	}
	imapWorkers, err := openWorkers(cfg.Users, func() (pageWorker, error) { return openIMAPWorker(t, cfg) })
	if err != nil {
		return res, err
	}
	if res.IMAP, err = driveSide(ctx, cfg, uids, imapWorkers); err != nil {
		return res, fmt.Errorf("IMAP: %w", err)
	}
	return res, nil
}

// mailboxUIDs returns the UIDs of the mailbox, ascending: the messages both sides pick from.
func mailboxUIDs(t target, cfg webConfig) ([]uint32, error) {
	c, err := dialRawIMAP(t, cfg.TLS, cfg.User)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.command("SELECT " + quoted(cfg.Mailbox)); err != nil {
		return nil, err
	}
	reply, err := c.command("UID SEARCH ALL")
	if err != nil {
		return nil, err
	}
	if len(reply.numbers) == 0 {
		return nil, fmt.Errorf("%s of %s is empty: fill it first (mailbench fill)", cfg.Mailbox, cfg.User)
	}
	uids := slices.Clone(reply.numbers)
	slices.Sort(uids)
	return uids, nil
}

// openWorkers opens n workers in parallel (the logins are the slow part); on an error it closes those opened.
func openWorkers(n int, open func() (pageWorker, error)) ([]pageWorker, error) {
	workers := make([]pageWorker, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { workers[i], errs[i] = open() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, w := range workers {
			if errs[i] == nil {
				w.close()
			}
		}
		return nil, err
	}
	return workers, nil
}

// driveSide has every worker fetch, in turn, a random list page and a random message until Duration has passed
// or the side has fetched Requests of each, and closes the workers. The workers' random sequences come from the
// seed and their index, so that both sides ask for the same pages and messages. A request cut by the deadline is
// not counted.
func driveSide(ctx context.Context, cfg webConfig, uids []uint32, workers []pageWorker) (webSide, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		mu       sync.Mutex
		side     webSide
		firstErr error
		budget   atomic.Int64
		wg       sync.WaitGroup
	)
	budget.Store(int64(cfg.Requests))
	pages := (len(uids) + webPageSize - 1) / webPageSize
	start := time.Now()
	for i, w := range workers {
		wg.Go(func() {
			defer w.close()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
			var list, read []time.Duration
			err := func() error {
				for ctx.Err() == nil && (cfg.Requests == 0 || budget.Add(-1) >= 0) {
					pageNo := rng.IntN(pages) + 1
					d, err := timeRequest(ctx, func() error { return w.list(ctx, pageNo, newestFirstPage(uids, pageNo)) })
					if err != nil || d == 0 {
						return err
					}
					list = append(list, d)
					uid := uids[rng.IntN(len(uids))]
					if d, err = timeRequest(ctx, func() error { return w.read(ctx, uid) }); err != nil || d == 0 {
						return err
					}
					read = append(read, d)
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			side.List, side.Read = append(side.List, list...), append(side.Read, read...)
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		})
	}
	wg.Wait()
	side.Elapsed = time.Since(start)
	return side, firstErr
}

// timeRequest times op; a failure once the context has ended is the deadline's doing and returns 0, no error.
func timeRequest(ctx context.Context, op func() error) (time.Duration, error) {
	start := time.Now()
	err := op()
	d := time.Since(start)
	if ctx.Err() != nil {
		return 0, nil
	}
	return d, err
}

// newestFirstPage returns the UIDs of page pageNo (1-based) when the mailbox is listed newest first, as the
// webmail lists it by default.
func newestFirstPage(uids []uint32, pageNo int) []uint32 {
	end := len(uids) - (pageNo-1)*webPageSize
	return uids[max(end-webPageSize, 0):end]
}

// webWorker is a webmail session.
type webWorker struct {
	u       *webUser
	mailbox string
}

func (w webWorker) list(ctx context.Context, pageNo int, _ []uint32) error {
	_, err := w.u.listPage(ctx, w.mailbox, pageNo)
	return err
}

func (w webWorker) read(ctx context.Context, uid uint32) error {
	_, err := w.u.readPage(ctx, w.mailbox, uid)
	return err
}

func (w webWorker) close() {
	if w.u != nil {
		w.u.close()
	}
}

// imapWorker is an IMAP connection with the mailbox selected once, doing what a client does for the same pages.
type imapWorker struct{ c *rawIMAP }

func openIMAPWorker(t target, cfg webConfig) (pageWorker, error) {
	c, err := dialRawIMAP(t, cfg.TLS, cfg.User)
	if err != nil {
		return imapWorker{}, err
	}
	if _, err := c.command("SELECT " + quoted(cfg.Mailbox)); err != nil {
		c.Close()
		return imapWorker{}, err
	}
	return imapWorker{c}, nil
}

// list fetches what a list page shows: the envelopes and flags of its messages.
func (w imapWorker) list(_ context.Context, _ int, uids []uint32) error {
	set := make([]string, len(uids))
	for i, u := range uids {
		set[i] = strconv.FormatUint(uint64(u), 10)
	}
	return w.fetch("UID FETCH "+strings.Join(set, ",")+" (UID FLAGS ENVELOPE)", len(uids))
}

// read fetches the whole message without setting \Seen (the webmail's page does set it).
func (w imapWorker) read(_ context.Context, uid uint32) error {
	return w.fetch(fmt.Sprintf("UID FETCH %d BODY.PEEK[]", uid), 1)
}

func (w imapWorker) fetch(command string, want int) error {
	reply, err := w.c.command(command)
	if err != nil {
		return err
	}
	if reply.fetches != want {
		return fmt.Errorf("%.40s…: %d FETCH responses, want %d", command, reply.fetches, want)
	}
	return nil
}

func (w imapWorker) close() {
	if w.c != nil {
		w.c.command("LOGOUT")
		w.c.Close()
	}
}

// report prints each kind of request on each side: count, p50, p99 and requests per second.
func (r webResult) report(w io.Writer, cfg webConfig) {
	fmt.Fprintf(w, "web %s %s: %d messages (%d pages of %d), %d users; each side for %s", cfg.User, cfg.Mailbox,
		r.Messages, (r.Messages+webPageSize-1)/webPageSize, webPageSize, cfg.Users, cfg.Duration)
	if cfg.Requests > 0 {
		fmt.Fprintf(w, " or %d requests of each kind", cfg.Requests)
	}
	fmt.Fprintf(w, "\n  %-50s %8s %10s %10s %8s\n", "", "requests", "p50", "p99", "req/s")
	rows := []struct {
		name    string
		samples []time.Duration
		elapsed time.Duration
	}{
		{"webmail list page (GET /mail/list)", r.Web.List, r.Web.Elapsed},
		{"IMAP UID FETCH <50 UIDs> (UID FLAGS ENVELOPE)", r.IMAP.List, r.IMAP.Elapsed},
		{"webmail message page (GET /mail/read)", r.Web.Read, r.Web.Elapsed},
		{"IMAP UID FETCH <UID> BODY.PEEK[]", r.IMAP.Read, r.IMAP.Elapsed},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-50s %8d %10s %10s %8.0f\n", row.name, len(row.samples), ms(percentile(row.samples, 50)),
			ms(percentile(row.samples, 99)), rate(len(row.samples), row.elapsed))
	}
}
