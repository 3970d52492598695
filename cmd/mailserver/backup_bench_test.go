package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/message"
	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// What the backup benchmark serves and how it loads it.
const (
	// benchStoreMBVar sizes the store in MB; the figure the design asks for is 10240.
	benchStoreMBVar     = "MAILSERVER_BENCH_STORE_MB"
	defaultBenchStoreMB = 200
	// benchCacheVar names a folder that keeps a built store for the next run: a 10 GB build takes minutes.
	benchCacheVar = "MAILSERVER_BENCH_CACHE"

	benchAccounts    = 100
	benchSenders     = 8 // SMTP connections delivering while the rate is measured
	benchMessageSize = 20 << 10
	// maxSenderMessages bounds what one connection sends in one measurement.
	maxSenderMessages = 200_000
	// deliveryWindow is how long the rate without a backup is measured; deliveryWarmUp comes before it.
	deliveryWindow = 10 * time.Second
	deliveryWarmUp = time.Second
	// backupTimeout bounds one backup command.
	backupTimeout = time.Hour
)

// BenchmarkBackupWhileServing serves a store of MAILSERVER_BENCH_STORE_MB megabytes (default 200) with the real
// binary, fsync on, and measures for each kind of backup (a file, a compacted file, standard output to /dev/null)
// the SMTP delivery rate of 8 connections sending 20 KiB messages for a window without a backup and then during
// the backup; with the backup's speed, the slowest delivery, the server's peak RSS while it ran, and how much the
// store grew. Every backup must have verified its copy. The kinds run one after the other on the same server, so
// the store each starts from holds the mail delivered during the ones before. The 10 GB figure, with the store
// kept in /tmp/mailserver-bench for the next run:
//
//	MAILSERVER_BENCH_STORE_MB=10240 MAILSERVER_BENCH_CACHE=/tmp/mailserver-bench flock /work/bench.lock \
//	  go test ./cmd/mailserver -run '^$' -bench BackupWhileServing -benchtime 1x -timeout 4h
func BenchmarkBackupWhileServing(b *testing.B) {
	e := newEnv(b)
	placeBenchStore(b, e.cfg.DBPath(), benchStoreMB(b))
	bench := &backupBench{e: e, mx: testnet.FreeAddr(b), stored: storeInfo(b, e.cfg.DBPath())}
	bench.server, _ = serveProcess(b, e, bench.mx, testnet.FreeAddr(b))
	b.Logf("store: %s, %d messages in %d accounts", formatSize(bench.stored.Size), bench.stored.Messages, benchAccounts)
	for _, mode := range []backupMode{{name: "file"}, {name: "compact", compact: true}, {name: "stdout", stdout: true}} {
		b.Run(mode.name, func(b *testing.B) { bench.run(b, mode) })
	}
}

func benchStoreMB(tb testing.TB) int {
	v := os.Getenv(benchStoreMBVar)
	if v == "" {
		return defaultBenchStoreMB
	}
	mb, err := strconv.Atoi(v)
	if err != nil || mb <= 0 {
		tb.Fatalf("%s=%q: want a size in MB", benchStoreMBVar, v)
	}
	return mb
}

// backupBench is the served store the backups are measured on.
type backupBench struct {
	e      *env
	mx     string
	server *os.Process
	stored store.BackupInfo // before the server started
}

// backupMode is one way to take the backup.
type backupMode struct {
	name            string
	compact, stdout bool
}

// backupFigures are what one backup measured.
type backupFigures struct {
	storeBytes int64  // the store file when the backup started
	mappedRoom int64  // how far it could grow then before the server must map it anew, which waits for the backup
	growth     int64  // what the store file grew while it ran
	messages   int64  // in the backup, as its command reported
	before     window // deliveries without a backup
	during     window // and while it ran
	failed     int64  // deliveries refused or cut off
	serverRSS  int64  // the server's RSS when the backup started
	serverPeak int64  // its peak RSS while the backup ran: with the pages of the store file it has mapped
	serverAnon int64  // its peak anonymous RSS (its own memory) while the backup ran, sampled
	command    commandRun
}

func (bb *backupBench) run(b *testing.B, mode backupMode) {
	var all []backupFigures
	for b.Loop() {
		all = append(all, bb.measure(b, mode))
	}
	for _, m := range backupMetrics {
		var sum float64
		for _, f := range all {
			sum += m.value(f)
		}
		b.ReportMetric(sum/float64(len(all)), m.unit)
	}
}

const mebibyte = 1 << 20

// backupMetrics are what the benchmark reports of each kind of backup, the mean of its runs.
var backupMetrics = []struct {
	unit  string
	value func(backupFigures) float64
}{
	{"store-MB", func(f backupFigures) float64 { return float64(f.storeBytes) / mebibyte }},
	{"messages", func(f backupFigures) float64 { return float64(f.messages) }},
	{"backup-s", func(f backupFigures) float64 { return f.during.took.Seconds() }},
	{"backup-MB/s", func(f backupFigures) float64 { return float64(f.storeBytes) / mebibyte / f.during.took.Seconds() }},
	{"deliveries/s-before", func(f backupFigures) float64 { return f.before.perSecond }},
	{"deliveries/s-during", func(f backupFigures) float64 { return f.during.perSecond }},
	{"during/before", func(f backupFigures) float64 { return f.during.perSecond / f.before.perSecond }},
	{"slowest-delivery-ms-before", func(f backupFigures) float64 { return msec(f.before.slowest) }},
	{"slowest-delivery-ms-during", func(f backupFigures) float64 { return msec(f.during.slowest) }},
	{"failed-deliveries", func(f backupFigures) float64 { return float64(f.failed) }},
	{"server-RSS-MB-before", func(f backupFigures) float64 { return float64(f.serverRSS) / mebibyte }},
	{"server-peak-RSS-MB", func(f backupFigures) float64 { return float64(f.serverPeak) / mebibyte }},
	{"server-peak-anon-RSS-MB", func(f backupFigures) float64 { return float64(f.serverAnon) / mebibyte }},
	{"command-peak-RSS-MB", func(f backupFigures) float64 { return float64(f.command.peakRSS) / mebibyte }},
	{"command-peak-anon-RSS-MB", func(f backupFigures) float64 { return float64(f.command.peakAnon) / mebibyte }},
	{"store-growth-MB", func(f backupFigures) float64 { return float64(f.growth) / mebibyte }},
	{"mapped-room-MB", func(f backupFigures) float64 { return float64(f.mappedRoom) / mebibyte }},
}

func msec(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measure delivers for deliveryWindow without a backup and then during one backup, and returns the figures.
func (bb *backupBench) measure(b *testing.B, mode backupMode) backupFigures {
	load := startDeliveries(bb.mx, deliveryWarmUp+deliveryWindow+backupTimeout)
	defer load.stop()
	time.Sleep(deliveryWarmUp)
	var f backupFigures
	f.before = load.measure(func() { time.Sleep(deliveryWindow) })
	if f.before.perSecond == 0 {
		b.Fatalf("no delivery without a backup: %v", load.firstErr())
	}
	f.storeBytes = fileSize(b, bb.e.cfg.DBPath())
	f.mappedRoom = mappedSize(b, bb.server.Pid, bb.e.cfg.DBPath()) - f.storeBytes
	f.serverRSS = resetPeakRSS(b, bb.server.Pid)
	anon := samplePeak(bb.server.Pid, "RssAnon")
	f.during = load.measure(func() { f.messages, f.command = bb.backup(b, mode) })
	f.serverAnon = anon()
	f.serverPeak = procStatus(b, bb.server.Pid, "VmHWM")
	f.growth = fileSize(b, bb.e.cfg.DBPath()) - f.storeBytes
	load.stop()
	if f.failed = load.failed.Load(); f.failed > 0 {
		b.Logf("%s: %d deliveries failed, the first: %v", mode.name, f.failed, load.firstErr())
	}
	b.Logf("%s: %s in %s, %.0f deliveries/s before (slowest %s), %.0f during (slowest %s); server RSS %s, "+
		"peak %s during the backup (%s anonymous)", mode.name, formatSize(f.storeBytes), f.during.took.Round(time.Millisecond),
		f.before.perSecond, f.before.slowest.Round(time.Millisecond), f.during.perSecond,
		f.during.slowest.Round(time.Millisecond), formatSize(f.serverRSS), formatSize(f.serverPeak), formatSize(f.serverAnon))
	return f
}

// backup runs one 'mailserver backup' in mode, makes sure it verified its copy, removes the copy, and returns the
// messages it reported and the command's run.
func (bb *backupBench) backup(b *testing.B, mode backupMode) (messages int64, run commandRun) {
	file := filepath.Join(b.TempDir(), "mail-backup.db")
	defer os.Remove(file) // now: a 10 GB copy must not wait for the benchmark's end
	args := []string{"backup", file}
	if mode.compact {
		args = []string{"backup", "--compact", file}
	}
	var out bytes.Buffer
	var stdout io.Writer = &out
	if mode.stdout {
		// The command writes to /dev/null itself: a pipe read by this process would measure this process.
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer null.Close()
		args, stdout = []string{"backup", "-"}, null
	}
	run = runLong(b, bb.e, stdout, args...)
	report := out.String()
	if mode.stdout {
		report = run.stderr
	}
	return verifiedMessages(b, report, bb.stored.Messages), run
}

var backupReport = regexp.MustCompile(`^backup [^\n]*: [^,]+, (\d+) messages, verified, `)

// verifiedMessages reads the count of messages from a backup's report, which must say the copy verified and hold
// at least the store's messages before the server started.
func verifiedMessages(tb testing.TB, report string, atLeast int64) int64 {
	m := backupReport.FindStringSubmatch(report)
	if m == nil {
		tb.Fatalf("the backup did not report a verified copy: %q", report)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	if n < atLeast {
		tb.Fatalf("the backup holds %d messages, the store had %d before the server started: %q", n, atLeast, report)
	}
	return n
}

// commandRun is what a long command printed on standard error and the memory it took.
type commandRun struct {
	stderr   string
	peakRSS  int64 // with the pages of the files it mapped
	peakAnon int64 // its own memory, sampled
}

// runLong runs the binary on e's config for a command that may take long (up to backupTimeout), its standard
// output going to stdout; it must succeed.
func runLong(tb testing.TB, e *env, stdout io.Writer, args ...string) commandRun {
	ctx, cancel := context.WithTimeout(context.Background(), backupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", e.config}, args...)...)
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errOut
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	anon := samplePeak(cmd.Process.Pid, "RssAnon")
	err := cmd.Wait()
	run := commandRun{stderr: errOut.String(), peakAnon: anon()}
	if err != nil {
		tb.Fatalf("mailserver %s: %v, stderr %q", strings.Join(args, " "), err, run.stderr)
	}
	run.peakRSS = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // Linux gives KiB
	return run
}

// deliveryLoad is benchSenders SMTP connections delivering benchMessageSize messages to the MX, one recipient
// each, counting the messages accepted.
type deliveryLoad struct {
	delivered, failed atomic.Int64
	slowest           atomic.Int64 // nanoseconds, of a delivery in the window being measured
	firstError        atomic.Pointer[error]
	done              chan struct{}
	wg                sync.WaitGroup
	stop              func() // ends the sending and waits for the connections to close; may be called again
}

// startDeliveries starts the connections; they send until stop, for at most within and maxSenderMessages each.
func startDeliveries(mx string, within time.Duration) *deliveryLoad {
	l := &deliveryLoad{done: make(chan struct{})}
	deadline := time.Now().Add(within)
	for range benchSenders {
		gen := newMailGen(nextGenSeed())
		l.wg.Go(func() { l.send(mx, gen, deadline) })
	}
	l.stop = sync.OnceFunc(func() {
		close(l.done)
		l.wg.Wait()
	})
	return l
}

// send delivers over one connection, opening a new one after a failure.
func (l *deliveryLoad) send(mx string, gen *mailGen, deadline time.Time) {
	var c *gosmtp.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for i := 0; i < maxSenderMessages && time.Now().Before(deadline) && !l.stopped(); i++ {
		var err error
		if c == nil {
			if c, err = gosmtp.Dial(mx); err != nil {
				l.fail(err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		rcpt := benchAccount(gen.rng.IntN(benchAccounts))
		msg := gen.text(rcpt, benchMessageSize, time.Now())
		start := time.Now()
		if err := c.SendMail(benchSender, []string{rcpt}, bytes.NewReader(msg)); err != nil {
			l.fail(err)
			c.Close()
			c = nil
			continue
		}
		l.delivered.Add(1)
		storeMax(&l.slowest, int64(time.Since(start)))
	}
}

func (l *deliveryLoad) stopped() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *deliveryLoad) fail(err error) {
	l.failed.Add(1)
	l.firstError.CompareAndSwap(nil, &err)
}

func (l *deliveryLoad) firstErr() error {
	if err := l.firstError.Load(); err != nil {
		return *err
	}
	return nil
}

// window is what the deliveries did while something ran.
type window struct {
	took      time.Duration
	perSecond float64       // messages delivered
	slowest   time.Duration // the longest a delivery waited for its 250
}

// measure runs fn and returns the deliveries while it ran.
func (l *deliveryLoad) measure(fn func()) window {
	n, start := l.delivered.Load(), time.Now()
	l.slowest.Store(0)
	fn()
	took := time.Since(start)
	return window{took: took, perSecond: float64(l.delivered.Load()-n) / took.Seconds(), slowest: time.Duration(l.slowest.Load())}
}

// storeMax raises v to n if n is higher.
func storeMax(v *atomic.Int64, n int64) {
	for old := v.Load(); n > old && !v.CompareAndSwap(old, n); old = v.Load() {
	}
}

// resetPeakRSS sets the process's peak RSS (VmHWM) back to its RSS now, which it returns (Linux: writing 5 to
// /proc/PID/clear_refs, see proc(5)).
func resetPeakRSS(tb testing.TB, pid int) int64 {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		tb.Fatalf("reset the server's peak RSS: %v", err)
	}
	return procStatus(tb, pid, "VmRSS")
}

// procStatus reads a field given in kB from /proc/PID/status, in bytes.
func procStatus(tb testing.TB, pid int, field string) int64 {
	n, err := procStatusBytes(pid, field)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func procStatusBytes(pid int, field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if value, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// samplePeak reads a field of /proc/PID/status every 50 ms, for at most backupTimeout, until the returned
// function is called; that returns the highest value read.
func samplePeak(pid int, field string) (stop func() int64) {
	var peak atomic.Int64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range backupTimeout / (50 * time.Millisecond) {
			if n, err := procStatusBytes(pid, field); err == nil {
				storeMax(&peak, n)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// mappedSize is the length of the process's mapping of the file at path (/proc/PID/maps, see proc(5)).
func mappedSize(tb testing.TB, pid int, path string) int64 {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(maps)) {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[5] != path {
			continue
		}
		start, end, _ := strings.Cut(fields[0], "-")
		from, err1 := strconv.ParseUint(start, 16, 64)
		to, err2 := strconv.ParseUint(end, 16, 64)
		if err := errors.Join(err1, err2); err != nil {
			tb.Fatalf("/proc/%d/maps: %q: %v", pid, line, err)
		}
		return int64(to - from)
	}
	tb.Fatalf("the server has not mapped %s", path)
	return 0
}

func fileSize(tb testing.TB, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// storeInfo opens the store at path, which nothing else may have open, and returns its size and messages.
func storeInfo(tb testing.TB, path string) store.BackupInfo {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	sn, err := st.BeginBackup()
	if err != nil {
		tb.Fatal(err)
	}
	defer sn.Close()
	return sn.Info()
}

// placeBenchStore puts a store of about mb megabytes at path: built there, or copied from the folder that
// MAILSERVER_BENCH_CACHE names, where it is built first if it is not there yet.
func placeBenchStore(tb testing.TB, path string, mb int) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		tb.Fatal(err)
	}
	cache := os.Getenv(benchCacheVar)
	if cache == "" {
		buildBenchStore(tb, path, mb)
		return
	}
	cached := filepath.Join(cache, fmt.Sprintf("store-%dMB.db", mb))
	if _, err := os.Stat(cached); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(cache, 0o700); err != nil {
			tb.Fatal(err)
		}
		// Built under another name: a build cut short is never taken for a whole store.
		partial := cached + ".partial"
		os.Remove(partial)
		buildBenchStore(tb, partial, mb)
		if err := os.Rename(partial, cached); err != nil {
			tb.Fatal(err)
		}
	}
	tmp, err := copyToTemp(cached, filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// buildBenchStore writes a store of about mb megabytes at path: benchAccounts accounts in one domain, each with
// mail in several folders, stored in import batches (without fsync: only the result counts).
func buildBenchStore(tb testing.TB, path string, mb int) {
	start := time.Now()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	if err := st.AddDomain(domain); err != nil {
		tb.Fatal(err)
	}
	ids := make([]uint64, benchAccounts)
	for i := range ids {
		a, err := st.AddAccount(store.Account{Address: benchAccount(i)})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = a.ID
	}
	gen := newMailGen(0)
	want := int64(mb) << 20
	// Batches small enough that every account gets several even in a small store; the file holds about twice
	// the mail (search text, records, pages partly filled).
	batchBytes := min(max(want/(benchAccounts*8), 1<<20), store.ImportBatchBytes)
	var written, messages int64
	for i := 0; fileSize(tb, path) < want; i++ {
		n, size := importBenchBatch(tb, st, ids[i%benchAccounts], benchAccount(i%benchAccounts), gen, batchBytes)
		written += size
		messages += int64(n)
	}
	tb.Logf("built a store of %s: %d messages, %s of mail, in %s", formatSize(fileSize(tb, path)), messages,
		formatSize(written), time.Since(start).Round(time.Second))
}

// importBenchBatch stores one import batch of at most maxBytes (or one larger message), and returns how many
// messages and bytes it held.
func importBenchBatch(tb testing.TB, st *store.Store, accountID uint64, address string, gen *mailGen,
	maxBytes int64) (int, int64) {
	var batch []store.ImportMessage
	var size int64
	for len(batch) < store.ImportBatchMessages {
		n, attached := gen.storedSize()
		if len(batch) > 0 && size+int64(n) > maxBytes {
			break
		}
		batch = append(batch, gen.stored(address, n, attached))
		size += int64(len(batch[len(batch)-1].Message.Body))
	}
	results, err := st.ImportBatch(accountID, batch, store.ImportOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range results {
		if r.Outcome != store.Imported {
			tb.Fatalf("message %d of the batch for %s: outcome %d %s", i, address, r.Outcome, r.Reason)
		}
	}
	return len(batch), size
}

func benchAccount(i int) string { return fmt.Sprintf("cb%03d@%s", i, domain) }

const benchSender = "vanthu@so-noi-vu.gov.vn"

// mailGen makes distinct, realistic messages fast: text lines from a pool of Vietnamese administrative prose,
// taken at a random place, and attachments of random bytes (compressed documents look random). Every message has
// a Message-ID and a subject of its own, so single-instance storage never merges two.
type mailGen struct {
	rng   *rand.Rand
	seed  uint64
	n     int
	lines []string
}

var genSeeds atomic.Uint64 // seed 0 is the stored mail's; deliveries take the next ones

func nextGenSeed() uint64 { return genSeeds.Add(1) }

var benchWords = strings.Fields("báo cáo công văn ủy ban nhân dân thành phố Vĩnh Yên kế hoạch triển khai thực hiện " +
	"quyết định số liệu tháng năm phòng tài chính đề nghị các đơn vị liên quan phối hợp hoàn thành trước ngày kính " +
	"gửi nội dung tổng hợp dự toán ngân sách giáo dục y tế xây dựng đất đai hành chính cải cách chỉ đạo hướng dẫn " +
	"theo quy định của pháp luật về việc và trong để được có không 2025 15/QĐ-UBND")

func newMailGen(seed uint64) *mailGen {
	g := &mailGen{rng: rand.New(rand.NewPCG(seed, 0x6d61696c)), seed: seed, lines: make([]string, 4096)}
	for i := range g.lines {
		var line strings.Builder
		for line.Len() < 70 {
			if line.Len() > 0 {
				line.WriteByte(' ')
			}
			line.WriteString(benchWords[g.rng.IntN(len(benchWords))])
		}
		line.WriteString("\r\n")
		g.lines[i] = line.String()
	}
	return g
}

// storedSize picks the size of the next stored message: mostly 20–100 KiB of text, one in fifty 1–5 MB with an
// attachment.
func (g *mailGen) storedSize() (size int, attached bool) {
	if g.rng.IntN(50) == 0 {
		return 1<<20 + g.rng.IntN(4<<20), true
	}
	return 20<<10 + g.rng.IntN(80<<10), false
}

// benchFolders is where stored mail goes, a folder as often as it is named.
var benchFolders = []string{"INBOX", "INBOX", "INBOX", "INBOX", "INBOX", "INBOX", "INBOX", "INBOX", "Sent", "Sent",
	"Sent", "Sent", "Archive", "Archive", "Lưu trữ/2025", "Lưu trữ/2025", "Công văn đến", "Công văn đến", "Trash", "Drafts"}

// stored makes a message of about size bytes for address, as an import stores it: parsed once, dated within the
// last two years, in one of benchFolders, mostly seen.
func (g *mailGen) stored(address string, size int, attached bool) store.ImportMessage {
	date := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.rng.Int64N(2*365*24*3600)) * time.Second)
	var body []byte
	if attached {
		body = g.withAttachment(address, size, date)
	} else {
		body = g.text(address, size, date)
	}
	var flags []string
	if g.rng.IntN(10) < 8 {
		flags = []string{`\Seen`}
	}
	p := message.Parse(body)
	return store.ImportMessage{
		Folder:  benchFolders[g.rng.IntN(len(benchFolders))],
		Message: store.NewMessage{Body: body, Meta: p.Meta(), Text: p.SearchText(), InternalDate: date},
		Flags:   flags,
	}
}

// text makes a plain-text message of about size bytes to rcpt.
func (g *mailGen) text(rcpt string, size int, date time.Time) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	g.header(&b, rcpt, date)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	g.prose(&b, size)
	return b.Bytes()
}

// withAttachment makes a message of about size bytes to rcpt: a short text and a base64 attachment.
func (g *mailGen) withAttachment(rcpt string, size int, date time.Time) []byte {
	var b bytes.Buffer
	b.Grow(size + 4096)
	g.header(&b, rcpt, date)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"ranh-gioi\"\r\n\r\n--ranh-gioi\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	g.prose(&b, b.Len()+2048)
	fmt.Fprintf(&b, "\r\n--ranh-gioi\r\nContent-Type: application/pdf; name=\"bao-cao-%d.pdf\"\r\n"+
		"Content-Disposition: attachment; filename=\"bao-cao-%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", g.n, g.n)
	raw := make([]byte, 57) // one 76-character base64 line
	line := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for b.Len() < size {
		for i := 0; i < len(raw); i += 8 {
			v := g.rng.Uint64()
			for j := i; j < min(i+8, len(raw)); j++ {
				raw[j], v = byte(v), v>>8
			}
		}
		base64.StdEncoding.Encode(line, raw)
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString("--ranh-gioi--\r\n")
	return b.Bytes()
}

func (g *mailGen) header(b *bytes.Buffer, rcpt string, date time.Time) {
	g.n++
	fmt.Fprintf(b, "From: Văn thư <%s>\r\nTo: %s\r\nSubject: Báo cáo số %d/%d về việc triển khai kế hoạch\r\n"+
		"Message-ID: <%d.%d@so-noi-vu.gov.vn>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		benchSender, rcpt, g.n, g.seed, g.seed, g.n, date.Format(time.RFC1123Z))
}

// prose appends lines from the pool, from a random one on, until b holds size bytes.
func (g *mailGen) prose(b *bytes.Buffer, size int) {
	for i := g.rng.IntN(len(g.lines)); b.Len() < size; i++ {
		b.WriteString(g.lines[i%len(g.lines)])
	}
}
