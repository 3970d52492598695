package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// loginsConfig is one login storm.
type loginsConfig struct {
	Users    []string // spread over, in turn
	Parallel int
	TLS      tlsMode
}

// loginsResult is what a storm measured.
type loginsResult struct {
	Latencies           []time.Duration // of each LOGIN, from the command to its OK
	Failed              int
	FirstErr            error
	Wall                time.Duration // from the first LOGIN sent to the last reply
	Before, During, End procUsage     // server memory: before connecting, all logged in, all gone
}

// maxParallelLogins bounds a storm (each is a connection, a file descriptor on both sides).
const maxParallelLogins = 5000

func runLogins(ctx context.Context, t target, cfg loginsConfig) (loginsResult, error) {
	var res loginsResult
	if cfg.Parallel < 1 || cfg.Parallel > maxParallelLogins {
		return res, fmt.Errorf("-p must be 1..%d", maxParallelLogins)
	}
	res.Before, _ = treeUsage(t.PIDFiles)
	conns, err := dialMany(ctx, t, cfg.TLS, cfg.Parallel)
	defer closeAll(conns)
	if err != nil {
		return res, err
	}
	lat := make([]time.Duration, len(conns))
	errs := make([]error, len(conns))
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			begin := time.Now()
			errs[i] = c.Login(cfg.Users[i%len(cfg.Users)], t.Password).Wait()
			lat[i] = time.Since(begin)
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	res.During, _ = treeUsage(t.PIDFiles)
	for i, err := range errs {
		if err != nil {
			res.Failed++
			res.FirstErr = cmpErr(res.FirstErr, err)
			continue
		}
		res.Latencies = append(res.Latencies, lat[i])
	}
	closeAll(conns)
	conns = nil
	time.Sleep(time.Second) // let the server see the connections go
	res.End, _ = treeUsage(t.PIDFiles)
	return res, nil
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// dialConcurrency bounds the connections being opened at once, so that the listen backlog is not the limit.
const dialConcurrency = 32

// dialMany opens n IMAP connections (greeting read, not logged in).
func dialMany(ctx context.Context, t target, mode tlsMode, n int) ([]*imapclient.Client, error) {
	return openMany(ctx, n, func(int) (*imapclient.Client, error) { return dialIMAP(t, mode) })
}

// openMany calls open(0..n-1), dialConcurrency at a time, and returns what opened (nil results left out) with
// the first error.
func openMany[T comparable](ctx context.Context, n int, open func(i int) (T, error)) ([]T, error) {
	results := make([]T, n)
	errs := make([]error, n)
	slots := make(chan struct{}, dialConcurrency)
	var wg sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i], errs[i] = open(i)
		})
	}
	wg.Wait()
	var opened []T
	var zero T
	first := ctx.Err()
	for i, r := range results {
		if r != zero {
			opened = append(opened, r)
		}
		first = cmpErr(first, errs[i])
	}
	return opened, first
}

func closeAll(conns []*imapclient.Client) {
	for _, c := range conns {
		c.Close()
	}
}

func (r loginsResult) report(w io.Writer, cfg loginsConfig) {
	fmt.Fprintf(w, "logins: %d parallel over %d account(s): %d OK in %.2f s; LOGIN p50 %s p90 %s p99 %s max %s",
		cfg.Parallel, len(cfg.Users), len(r.Latencies), r.Wall.Seconds(), ms(median(r.Latencies)),
		ms(percentile(r.Latencies, 90)), ms(percentile(r.Latencies, 99)), ms(percentile(r.Latencies, 100)))
	if r.Failed > 0 {
		fmt.Fprintf(w, "; %d FAILED (first: %v)", r.Failed, r.FirstErr)
	}
	fmt.Fprintln(w)
	if r.Before.Procs > 0 {
		fmt.Fprintf(w, "  server before: %s\n  logged in:     %s\n  after logout:  %s\n", r.Before.memory(), r.During.memory(), r.End.memory())
	}
}
