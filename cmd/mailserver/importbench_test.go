package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// BenchmarkImportCommand measures 'mailserver import' as an administrator runs it: the built binary serving with
// fsync on a fresh store, and the import command run against it through the control socket, for
// MAILSERVER_IMPORT_BENCH_MESSAGES generated messages of 20 KiB (default 5,000) from one mbox file into one account,
// from one Maildir into one account, and from 100 mbox files into 100 accounts (one command per account, one at a
// time, then several at once). Where Dovecot is installed, 'doveadm import' imports the same files into a private
// Maildir store beside it. It reports messages/s overall and over the first and the last 10% of the messages (from
// the server's audit trail, one record per committed batch), and the peak RSS of the server and of the import
// commands. Generated files go to /tmp and are removed afterwards.
//
//	flock /work/bench.lock env MAILSERVER_IMPORT_BENCH_MESSAGES=200000 go test ./cmd/mailserver -run '^$' \
//		-bench BenchmarkImportCommand -benchtime 1x -timeout 3h
func BenchmarkImportCommand(b *testing.B) {
	n := importBenchMessages(b)
	for _, sc := range []importScenario{
		{name: "mbox", kind: "mbox", accounts: 1, atOnce: []int{1}},
		{name: "maildir", kind: "maildir", accounts: 1, atOnce: []int{1}},
		{name: "mbox-100-accounts", kind: "mbox", accounts: 100, atOnce: []int{1, 2, 4}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			corpus := &importCorpus{scenario: sc, messages: n}
			defer corpus.remove()
			var ours float64
			for _, k := range sc.atOnce {
				name := "mailserver"
				if k > 1 {
					name = fmt.Sprintf("mailserver-%d-at-once", k)
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						b.StopTimer()
						sources := corpus.sources(b)
						b.StartTimer()
						f := runMailserverImports(b, sc.kind, sources, n, k)
						f.report(b, n)
						if k == 1 {
							ours = f.rate(n)
						}
					}
				})
			}
			b.Run("dovecot", func(b *testing.B) {
				doveadm := lookDoveadm(b)
				for b.Loop() {
					b.StopTimer()
					sources := corpus.sources(b)
					b.StartTimer()
					f := runDoveadmImports(b, doveadm, sc.kind, sources, n)
					f.report(b, n)
					if ours > 0 {
						b.ReportMetric(ours/f.rate(n), "mailserver/dovecot")
					}
				}
			})
		})
	}
}

// importBenchMessages is how many messages each scenario imports.
func importBenchMessages(b *testing.B) int {
	s := os.Getenv("MAILSERVER_IMPORT_BENCH_MESSAGES")
	if s == "" {
		return 5000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 1_000_000 {
		b.Fatalf("MAILSERVER_IMPORT_BENCH_MESSAGES=%q: a number of messages from 100 to 1,000,000", s)
	}
	return n
}

// importScenario is one shape of import: from mbox files or a Maildir, into how many accounts, with how many
// import commands at once.
type importScenario struct {
	name     string
	kind     string // "mbox" or "maildir"
	accounts int
	atOnce   []int
}

// importCorpus is a scenario's generated files, written when a benchmark first needs them.
type importCorpus struct {
	scenario importScenario
	messages int
	dir      string
	paths    []string // one per account
}

func (c *importCorpus) sources(b *testing.B) []string {
	if c.paths != nil {
		return c.paths
	}
	dir, err := os.MkdirTemp("/tmp", "msib-corpus")
	if err != nil {
		b.Fatal(err)
	}
	c.dir = dir
	start := time.Now()
	if c.scenario.kind == "maildir" {
		path := filepath.Join(dir, "Maildir")
		if err := writeCorpusMaildir(path, c.messages); err != nil {
			b.Fatal(err)
		}
		c.paths = []string{path}
	} else {
		per := c.messages / c.scenario.accounts
		for k := range c.scenario.accounts {
			path := filepath.Join(dir, fmt.Sprintf("Archive%03d.mbox", k))
			if err := writeCorpusMbox(path, k*per, (k+1)*per); err != nil {
				b.Fatal(err)
			}
			c.paths = append(c.paths, path)
		}
	}
	b.Logf("wrote %d messages, %s, in %s", c.messages, formatSize(pathSize(dir)), time.Since(start).Round(time.Millisecond))
	return c.paths
}

func (c *importCorpus) remove() {
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// importFigures is what one run measured.
type importFigures struct {
	elapsed time.Duration
	// first and last are the time the first 10% and the last 10% of the messages took; zero where unknown.
	first, last   time.Duration
	firstN, lastN int
	serverHWM     int64 // bytes; 0: no server
	// serverAnon is the largest anonymous RSS sampled: the server's own memory, without the store file's pages
	// that its memory map holds (which VmHWM counts).
	serverAnon int64
	commandRSS int64 // bytes: the largest of the import commands
	storeSize  int64 // bytes of the store file afterwards
}

func (f importFigures) rate(n int) float64 { return float64(n) / f.elapsed.Seconds() }

func (f importFigures) report(b *testing.B, n int) {
	b.ReportMetric(f.rate(n), "msgs/s")
	if f.first > 0 && f.last > 0 {
		b.ReportMetric(float64(f.firstN)/f.first.Seconds(), "first10%-msgs/s")
		b.ReportMetric(float64(f.lastN)/f.last.Seconds(), "last10%-msgs/s")
	}
	if f.serverHWM > 0 {
		b.ReportMetric(float64(f.serverHWM)/(1<<20), "server-peak-MB")
		b.ReportMetric(float64(f.serverAnon)/(1<<20), "server-anon-peak-MB")
		b.ReportMetric(float64(f.storeSize)/(1<<20), "store-MB")
	}
	b.ReportMetric(float64(f.commandRSS)/(1<<20), "import-peak-MB")
	b.SetBytes(int64(n) * corpusMessageSize)
}

// importAccounts are the addresses of the accounts a scenario imports into.
func importAccounts(n int) []string {
	if n == 1 {
		return []string{userAn}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%03d@%s", i, domain)
	}
	return out
}

// runMailserverImports serves a fresh store with the built binary, runs one import command per source into its
// own account, atOnce at a time, and reads the batches' commit times from the audit trail.
func runMailserverImports(b *testing.B, kind string, sources []string, total, atOnce int) importFigures {
	dir, err := os.MkdirTemp("/tmp", "msib") // short: the control socket's path is limited
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfgPath, cfg := writeBenchConfig(b, dir)
	accounts := importAccounts(len(sources))
	createBenchAccounts(b, cfg.DBPath(), accounts)
	srv := startBenchServer(b, cfgPath, cfg)
	anon := sampleAnonRSS(srv.cmd.Process.Pid)
	start := time.Now()
	rss := runEach(b, len(sources), atOnce, func(i int) *exec.Cmd {
		return exec.Command(binary, "--config", cfgPath, "import", kind, sources[i], "--into", accounts[i])
	})
	elapsed := time.Since(start)
	hwm := mustProcStatus(b, srv.cmd.Process.Pid, "VmHWM")
	anonPeak := anon()
	srv.stop(b)
	f := batchTimes(b, cfg.DBPath(), start, total)
	f.elapsed, f.serverHWM, f.serverAnon, f.commandRSS = elapsed, hwm, anonPeak, rss
	if info, err := os.Stat(cfg.DBPath()); err == nil {
		f.storeSize = info.Size()
	}
	return f
}

// sampleAnonRSS reads the process's RssAnon every 100 ms until the returned function is called, which returns the
// largest value read.
func sampleAnonRSS(pid int) (stop func() int64) {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var largest int64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := procStatusBytes(pid, "RssAnon"); err == nil {
				largest = max(largest, v)
			}
			select {
			case <-done:
				peak <- largest
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		return <-peak
	}
}

func writeBenchConfig(b *testing.B, dir string) (string, config.Config) {
	path := filepath.Join(dir, "mailserver.toml")
	toml := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\nlog_format = \"json\"\n" +
		"[smtp]\nmx = \"\"\nsubmission = \"\"\nsubmissions = \"\"\n[imap]\nlisten = \"\"\nlisten_tls = \"\"\n" +
		"[http]\nlisten = \"\"\nlisten_tls = \"\"\n[metrics]\nlisten = \"\"\n[sieve]\nmanagesieve = \"\"\n[dns]\nsystem = false\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		b.Fatal(err)
	}
	return path, cfg
}

// createBenchAccounts makes the domain and the accounts on the store file.
func createBenchAccounts(b *testing.B, dbPath string, accounts []string) {
	st, _ := openWithAccounts(b, dbPath, store.Options{}, accounts)
	st.Close()
}

// openWithAccounts opens the store file and makes the domain and the accounts, with cheap password hashes.
func openWithAccounts(tb testing.TB, dbPath string, opts store.Options, accounts []string) (*store.Store, *admin.Service) {
	st, err := store.Open(dbPath, opts)
	if err != nil {
		tb.Fatal(err)
	}
	svc := admin.New(st, admin.WithHasher(auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}))
	err = svc.AddDomain(domain)
	for _, a := range accounts {
		if err == nil {
			_, err = svc.AddUser(admin.AddUserRequest{Address: a, Password: goodPassword})
		}
	}
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return st, svc
}

// benchServer is the server binary running for a benchmark.
type benchServer struct {
	cmd    *exec.Cmd
	exited chan error
	log    string
}

func startBenchServer(b *testing.B, cfgPath string, cfg config.Config) *benchServer {
	log, err := os.Create(filepath.Join(filepath.Dir(cfgPath), "server.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	s := &benchServer{cmd: exec.Command(binary, "--config", cfgPath, "serve"), exited: make(chan error, 1), log: log.Name()}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	b.Cleanup(func() { s.stop(b) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := ctl.Dial(cfg.SocketPath())
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			b.Fatalf("the server did not answer on its control socket within 20s: %v\n%s", err, fileTail(s.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM and waits for it, at most 60 seconds.
func (s *benchServer) stop(b *testing.B) {
	if s.cmd.ProcessState != nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		b.Errorf("the server did not stop within 60s")
	}
}

// runEach runs the commands command(0..n-1), atOnce at a time, each within 30 minutes, and returns the largest
// peak RSS among them. Every command must succeed.
func runEach(b *testing.B, n, atOnce int, command func(i int) *exec.Cmd) int64 {
	var mu sync.Mutex
	var peak int64
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range atOnce {
		wg.Go(func() {
			for i := range next {
				hwm, out, err := runWatched(command(i))
				if err != nil {
					b.Errorf("%v\n%s", err, out)
					return
				}
				mu.Lock()
				peak = max(peak, hwm)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return peak
}

// runWatched runs cmd within 30 minutes and returns its peak RSS: its VmHWM, read every 50 ms while it runs.
// (The rusage of a child counts the RSS of this process too: the child shares its memory until exec.)
func runWatched(cmd *exec.Cmd) (int64, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var hwm int64
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if v, err := procStatusBytes(cmd.Process.Pid, "VmHWM"); err == nil {
			hwm = max(hwm, v)
		}
		select {
		case err := <-exited:
			if err != nil {
				return hwm, out.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
			}
			return hwm, out.Bytes(), nil
		case <-tick.C:
		}
	}
}

// mustProcStatus reads a "kB" field of /proc/PID/status (VmHWM: the peak resident set size).
func mustProcStatus(b *testing.B, pid int, field string) int64 {
	v, err := procStatusBytes(pid, field)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// batchTimes reads the import batches from the audit trail (the time each was committed, from the server's
// clock, and its number of messages) and works out how long the first and the last 10% of the messages took.
// Every message must have been imported.
func batchTimes(b *testing.B, dbPath string, start time.Time, total int) importFigures {
	st, err := store.Open(dbPath, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	records, err := admin.New(st).AuditLog(admin.AuditQuery{Since: start})
	if err != nil {
		b.Fatal(err)
	}
	type batch struct {
		at time.Time
		n  int
	}
	var batches []batch
	count := 0
	for _, r := range records {
		var n int
		if _, err := fmt.Sscanf(r.Detail, "%d messages", &n); r.Action != "import" || err != nil {
			continue
		}
		batches = append(batches, batch{r.Time, n})
		count += n
	}
	if count != total {
		b.Fatalf("the audit trail records %d imported messages in %d batches, want %d", count, len(batches), total)
	}
	slices.SortFunc(batches, func(x, y batch) int { return x.at.Compare(y.at) })
	var f importFigures
	done := 0
	end := batches[len(batches)-1].at
	for _, bt := range batches {
		done += bt.n
		if f.firstN == 0 && done*10 >= total {
			f.first, f.firstN = bt.at.Sub(start), done
		}
		if done*10 >= total*9 {
			f.last, f.lastN = end.Sub(bt.at), total-done
			break
		}
	}
	return f
}
