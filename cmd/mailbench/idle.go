package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// idleConfig is one hold of idle connections.
type idleConfig struct {
	Users []string // spread over, in turn
	Conns int
	Hold  time.Duration
	TLS   tlsMode
	Log   io.Writer // progress lines
}

// idleResult is the server's memory before the connections and while they are held.
type idleResult struct {
	Held           int
	Before, During procUsage
}

// maxIdleConns bounds the connections held (the machine allows 20,000 descriptors per process).
const maxIdleConns = 10000

// idleSession is one held connection.
type idleSession struct {
	c    *imapclient.Client
	idle *imapclient.IdleCommand
}

func runIdle(ctx context.Context, t target, cfg idleConfig) (idleResult, error) {
	var res idleResult
	if cfg.Conns < 1 || cfg.Conns > maxIdleConns {
		return res, fmt.Errorf("-k must be 1..%d", maxIdleConns)
	}
	var err error
	if res.Before, err = treeUsage(t.PIDFiles); err != nil {
		return res, err
	}
	sessions, err := openIdle(ctx, t, cfg)
	defer closeIdle(sessions)
	res.Held = len(sessions)
	if err != nil {
		return res, err
	}
	select {
	case <-time.After(cfg.Hold):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.During, err = treeUsage(t.PIDFiles)
	return res, err
}

// openIdle opens the connections, dialConcurrency at a time: LOGIN, SELECT INBOX, IDLE.
func openIdle(ctx context.Context, t target, cfg idleConfig) ([]*idleSession, error) {
	var opened atomic.Int64
	return openMany(ctx, cfg.Conns, func(i int) (*idleSession, error) {
		s, err := startIdle(t, cfg.TLS, cfg.Users[i%len(cfg.Users)])
		if n := opened.Add(1); cfg.Log != nil && n%1000 == 0 {
			fmt.Fprintf(cfg.Log, "  %d connections opened\n", n)
		}
		return s, err
	})
}

func startIdle(t target, mode tlsMode, user string) (*idleSession, error) {
	c, err := loginIMAP(t, mode, user)
	if err != nil {
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("SELECT INBOX as %s: %w", user, err)
	}
	idle, err := c.Idle()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("IDLE as %s: %w", user, err)
	}
	return &idleSession{c: c, idle: idle}, nil
}

func closeIdle(sessions []*idleSession) {
	for _, s := range sessions {
		s.idle.Close()
		s.c.Close()
	}
}

func (r idleResult) report(w io.Writer, cfg idleConfig) {
	fmt.Fprintf(w, "idle: %d of %d connections (%s) logged in, INBOX selected, in IDLE for %v\n", r.Held, cfg.Conns, cfg.TLS, cfg.Hold)
	if r.Before.Procs == 0 || r.During.Procs == 0 || r.Held == 0 {
		return
	}
	per := func(before, during int64) string {
		return fmt.Sprintf("%.1f KiB", float64(during-before)/1024/float64(r.Held))
	}
	fmt.Fprintf(w, "  server before: %s\n  while held:    %s\n", r.Before.memory(), r.During.memory())
	fmt.Fprintf(w, "  per connection: RSS %s, RssAnon %s, PSS %s\n",
		per(r.Before.RSS, r.During.RSS), per(r.Before.RssAnon, r.During.RssAnon), per(r.Before.PSS, r.During.PSS))
}
