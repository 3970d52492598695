package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpConfig is one delivery load.
type smtpConfig struct {
	Session    smtpSession
	Conns      int
	Messages   int           // at most this many
	Duration   time.Duration // and sending stops after this long
	Size       int
	Seed       uint64
	PerMessage int      // recipients of each message
	Recipients []string // spread over, round robin
	From       string
	Empty      bool          // empty the recipients' INBOXes first
	Wait       time.Duration // for every accepted message to be visible over IMAP
	IMAPTLS    tlsMode       // of the watchers' connections
}

// smtpResult is what one run measured.
type smtpResult struct {
	Sent, Failed int
	Bytes        int64
	Send         time.Duration   // from the first connection to the last reply
	Latencies    []time.Duration // DATA to 250 of each accepted message
	Copies       map[string]int  // accepted copies per recipient
	E2E          time.Duration   // from the start until the last accepted copy was visible over IMAP
	CPU          time.Duration   // the server's CPU during the run (0 without pid files)
	FirstErr     error
}

// pregenerated bounds the distinct messages a run generates before it starts (they are sent in turn), so the
// client's own work stays out of the timed part.
const pregenerated = 1000

// maxFailures ends a run whose deliveries keep failing.
const maxFailures = 100

func runSMTP(ctx context.Context, t target, cfg smtpConfig) (smtpResult, error) {
	var res smtpResult
	if cfg.Conns < 1 || cfg.PerMessage < 1 || cfg.PerMessage > len(cfg.Recipients) {
		return res, fmt.Errorf("need at least 1 connection and 1..%d recipients per message", len(cfg.Recipients))
	}
	session, err := resolveSMTPTLS(t, cfg.Session)
	if err != nil {
		return res, err
	}
	ws, err := openWatchers(t, cfg.IMAPTLS, cfg.Recipients, cfg.Empty)
	if err != nil {
		return res, err
	}
	defer ws.close()
	msgs := pregenerate(cfg)
	before, cpuErr := treeUsage(t.PIDFiles)
	start := time.Now()
	polls := ws.start(ctx)
	res = sendAll(ctx, t, session, cfg, msgs)
	res.Send = time.Since(start)
	last, err := ws.waitVisible(polls, res.Copies, cfg.Wait)
	if err != nil {
		return res, fmt.Errorf("end to end: %w", err)
	}
	res.E2E = last.Sub(start)
	if after, err := treeUsage(t.PIDFiles); cpuErr == nil && err == nil {
		res.CPU = after.CPU - before.CPU
	}
	return res, nil
}

func pregenerate(cfg smtpConfig) [][]byte {
	msgs := make([][]byte, min(cfg.Messages, pregenerated))
	date := time.Now()
	for i := range msgs {
		msgs[i] = generateMessage(messageSpec{Seed: cfg.Seed, Index: i, Size: cfg.Size, From: cfg.From,
			To: cfg.Recipients[i%len(cfg.Recipients)], Date: date})
	}
	return msgs
}

// sender is the shared state of a run's connections.
type sender struct {
	cfg      smtpConfig
	msgs     [][]byte
	next     atomic.Int64
	deadline time.Time

	mu  sync.Mutex
	res smtpResult
}

// sendAll runs cfg.Conns connections until cfg.Messages are sent or cfg.Duration has passed.
func sendAll(ctx context.Context, t target, session smtpSession, cfg smtpConfig, msgs [][]byte) smtpResult {
	s := &sender{cfg: cfg, msgs: msgs, deadline: time.Now().Add(cfg.Duration), res: smtpResult{Copies: map[string]int{}}}
	var wg sync.WaitGroup
	for range cfg.Conns {
		wg.Go(func() { s.connection(ctx, t, session) })
	}
	wg.Wait()
	return s.res
}

// connection sends messages over one SMTP connection, opening a new one after a failure.
func (s *sender) connection(ctx context.Context, t target, session smtpSession) {
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Quit()
		}
	}()
	for ctx.Err() == nil && time.Now().Before(s.deadline) && !s.tooManyFailures() {
		i := int(s.next.Add(1) - 1)
		if i >= s.cfg.Messages {
			return
		}
		if c == nil {
			var err error
			if c, err = dialSMTP(t, session); err != nil {
				s.failed(err)
				continue
			}
		}
		rcpts := s.recipients(i)
		msg := s.msgs[i%len(s.msgs)]
		d, err := sendOne(c, s.cfg.From, rcpts, msg)
		if err != nil {
			s.failed(err)
			c.Close()
			c = nil
			continue
		}
		s.accepted(rcpts, len(msg), d)
	}
}

// recipients of message i: PerMessage consecutive addresses of the list, starting where message i-1's ended.
func (s *sender) recipients(i int) []string {
	out := make([]string, s.cfg.PerMessage)
	for k := range out {
		out[k] = s.cfg.Recipients[(i*s.cfg.PerMessage+k)%len(s.cfg.Recipients)]
	}
	return out
}

// sendOne sends one message and returns the time from DATA to the 250 after its end.
func sendOne(c *smtp.Client, from string, rcpts []string, msg []byte) (time.Duration, error) {
	if err := c.Mail(from, nil); err != nil {
		return 0, fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return 0, fmt.Errorf("RCPT TO %s: %w", r, err)
		}
	}
	start := time.Now()
	w, err := c.Data()
	if err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("end of DATA: %w", err)
	}
	return time.Since(start), nil
}

func (s *sender) accepted(rcpts []string, size int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Sent++
	s.res.Bytes += int64(size)
	s.res.Latencies = append(s.res.Latencies, d)
	for _, r := range rcpts {
		s.res.Copies[r]++
	}
}

func (s *sender) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Failed++
	if s.res.FirstErr == nil {
		s.res.FirstErr = err
	}
}

func (s *sender) tooManyFailures() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res.Failed >= maxFailures
}

// report prints one run's figures.
func (r smtpResult) report(w io.Writer, label string) {
	fmt.Fprintf(w, "%s: accepted %d in %.2f s: %.0f msgs/s; DATA→250 p50 %s p99 %s; e2e %.2f s: %.0f msgs/s",
		label, r.Sent, r.Send.Seconds(), rate(r.Sent, r.Send), ms(median(r.Latencies)), ms(percentile(r.Latencies, 99)),
		r.E2E.Seconds(), rate(r.Sent, r.E2E))
	if r.CPU > 0 && r.Sent > 0 {
		fmt.Fprintf(w, "; server CPU %.2f ms/msg", float64(r.CPU)/float64(time.Millisecond)/float64(r.Sent))
	}
	if r.Failed > 0 {
		fmt.Fprintf(w, "; %d FAILED (first: %v)", r.Failed, r.FirstErr)
	}
	fmt.Fprintln(w)
}

// e2eRate is a run's end to end messages per second.
func (r smtpResult) e2eRate() float64 { return rate(r.Sent, r.E2E) }

// summarize prints the run whose e2e rate is the median of several.
func summarize(w io.Writer, runs []smtpResult) {
	if len(runs) < 2 {
		return
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b smtpResult) int { return cmp.Compare(a.e2eRate(), b.e2eRate()) })
	sorted[len(sorted)/2].report(w, fmt.Sprintf("median of %d runs (by e2e)", len(runs)))
}

var errFailures = errors.New("some operations failed (see above)")
