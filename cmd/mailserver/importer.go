package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/mailfile"
	"mailserver/internal/store"
)

// folderTally counts one folder's outcomes.
type folderTally struct {
	imported, duplicates, failed int
	flagsUpdated                 int // copies whose flags were brought up to date with the source server
}

// importer sends the messages of a source in bounded batches and keeps the tallies and the failures. A full batch
// is stored while the next one is read: at most two batches are held at once.
type importer struct {
	api    ctl.Backend
	flags  mailImportFlags
	batch  []admin.ImportMessage
	origin []string // each batched message's source, for the report
	bytes  int
	// source names a server being imported from, and marks how far each of its folders has been read once the
	// batched messages are stored (store.SourceMark); both travel with the next batch.
	source string
	marks  map[string]store.SourceMark
	// folders are created with the next batch even if no message goes into them.
	folders []string
	tally   map[string]*folderTally
	order   []string
	report  []string // "source: reason" lines
	prog    *importProgress
	// inFlight brings the outcome of the batch being stored (nil: none). It is counted before the next batch is
	// sent, so batches are stored one after another, in order.
	inFlight chan sentBatch
}

// sentBatch is a batch sent to be stored, and what became of it.
type sentBatch struct {
	batch    []admin.ImportMessage
	origin   []string
	bytes    int
	statuses []admin.ImportStatus
	err      error
}

func newImporter(api ctl.Backend, f mailImportFlags, prog *importProgress) *importer {
	return &importer{api: api, flags: f, tally: map[string]*folderTally{}, marks: map[string]store.SourceMark{},
		prog: prog}
}

// run reads every message of src and sends it; a message that cannot be read or stored goes to the report.
func (imp *importer) run(src mailSource) error {
	defer src.close()
	for {
		m, folder, err := src.next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errSkipped) {
			imp.fail(folder, strings.TrimPrefix(err.Error(), errSkipped.Error()+": "), "")
			continue
		}
		if err == nil {
			err = imp.add(m, folder)
		}
		if err != nil {
			return errors.Join(err, imp.wait()) // what was sent is counted all the same
		}
	}
	return imp.flush()
}

// add batches a copy of m (the reader reuses its buffer), sending the batch first when m would overfill it.
func (imp *importer) add(m *mailfile.Message, folder string) error {
	return imp.addFrom(m, folder, nil)
}

// addFrom is add for a message of a source server, named there by from.
func (imp *importer) addFrom(m *mailfile.Message, folder string, from *store.SourceRef) error {
	if len(imp.batch) >= store.ImportBatchMessages || len(imp.batch) > 0 && imp.bytes+len(m.Data) > store.ImportBatchBytes {
		if err := imp.send(); err != nil {
			return err
		}
	}
	imp.batch = append(imp.batch, admin.ImportMessage{Folder: folder, Data: bytes.Clone(m.Data),
		Flags: append([]string(nil), m.Flags...), Date: m.Date, From: from})
	imp.origin = append(imp.origin, m.Source)
	imp.bytes += len(m.Data)
	return nil
}

// advance records that a source folder has been read up to mark: every message up to it has been added (or
// reported). The mark is stored with the next batch.
func (imp *importer) advance(mark store.SourceMark) {
	imp.marks[mark.Folder] = mark
}

// ensureFolder has folder created with the next batch, and listed in the summary, even if it stays empty.
func (imp *importer) ensureFolder(folder string) {
	imp.folder(folder)
	imp.folders = append(imp.folders, folder)
}

// flush sends the batch and the marks and waits until every batch sent is stored; its messages count once the
// store has committed them.
func (imp *importer) flush() error {
	if err := imp.send(); err != nil {
		return err
	}
	return imp.wait()
}

// send counts the batch in flight, then sends the batch and the marks to be stored while the next batch is read.
func (imp *importer) send() error {
	if err := imp.wait(); err != nil {
		return err
	}
	if len(imp.batch) == 0 && len(imp.marks) == 0 && len(imp.folders) == 0 {
		return nil
	}
	req := admin.ImportBatch{Address: imp.flags.into, EnforceQuota: imp.flags.quotaEnforce, Messages: imp.batch,
		Folders: imp.folders}
	if len(imp.marks) > 0 {
		req.Source = imp.source
		for _, m := range imp.marks {
			req.Marks = append(req.Marks, m)
		}
	}
	sent := sentBatch{batch: imp.batch, origin: imp.origin, bytes: imp.bytes}
	done := make(chan sentBatch, 1)
	go func() {
		sent.statuses, sent.err = ctl.Call(imp.api, ctl.ImportBatch, req)
		done <- sent
	}()
	imp.inFlight = done
	imp.batch, imp.origin, imp.bytes, imp.folders = nil, nil, 0, nil
	imp.marks = map[string]store.SourceMark{}
	return nil
}

// wait waits for the batch in flight, if any, and counts what became of its messages.
func (imp *importer) wait() error {
	if imp.inFlight == nil {
		return nil
	}
	sent := <-imp.inFlight
	imp.inFlight = nil
	if sent.err != nil {
		return fmt.Errorf("import into %s: %w", imp.flags.into, sent.err)
	}
	if len(sent.statuses) != len(sent.batch) {
		return fmt.Errorf("import into %s: %d outcomes for %d messages", imp.flags.into, len(sent.statuses), len(sent.batch))
	}
	for i, st := range sent.statuses {
		m := sent.batch[i]
		switch st.Outcome {
		case admin.ImportedStatus:
			imp.folder(m.Folder).imported++
		case admin.DuplicateStatus:
			imp.folder(m.Folder).duplicates++
		default:
			imp.fail(m.Folder, st.Reason, sent.origin[i])
		}
	}
	imp.prog.add(len(sent.batch), int64(sent.bytes))
	return nil
}

func (imp *importer) folder(name string) *folderTally {
	t, ok := imp.tally[name]
	if !ok {
		t = &folderTally{}
		imp.tally[name] = t
		imp.order = append(imp.order, name)
	}
	return t
}

// fail counts a message not imported and lists it for the report.
func (imp *importer) fail(folder, reason, source string) {
	if folder == "" {
		folder = "-"
	}
	imp.folder(folder).failed++
	line := reason
	if source != "" {
		line = source + ": " + reason
	}
	imp.report = append(imp.report, line)
}

// total adds up the tallies of every folder.
func (imp *importer) total() folderTally {
	var total folderTally
	for _, t := range imp.tally {
		total.imported += t.imported
		total.duplicates += t.duplicates
		total.failed += t.failed
		total.flagsUpdated += t.flagsUpdated
	}
	return total
}

// printFolders prints the tallies per folder and the total.
func (imp *importer) printFolders(out io.Writer) {
	fmt.Fprintf(out, "%-40s %9s %11s %7s\n", "FOLDER", "IMPORTED", "DUPLICATES", "FAILED")
	for _, name := range imp.order {
		t := imp.tally[name]
		fmt.Fprintf(out, "%-40s %9d %11d %7d\n", cleanCell(name), t.imported, t.duplicates, t.failed)
	}
	total := imp.total()
	fmt.Fprintf(out, "imported %d messages into %s, skipped %d already there, %d failed",
		total.imported, display(imp.flags.into), total.duplicates, total.failed)
	if total.flagsUpdated > 0 {
		fmt.Fprintf(out, "; flags of %d brought up to date", total.flagsUpdated)
	}
	fmt.Fprintln(out)
}

// finish prints the summary per folder, and writes the report of the failures and says where it is.
func (imp *importer) finish(out io.Writer) error {
	imp.prog.done()
	imp.printFolders(out)
	return writeImportReport(out, imp.flags.report, imp.report)
}

// writeImportReport writes the lines of the messages not imported to path (default: a new file named by the
// time) and says where they are.
func writeImportReport(out io.Writer, path string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	if path == "" {
		path = "import-report-" + time.Now().Format("20060102-150405") + ".txt"
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the report of the %d messages not imported: %w", len(lines), err)
	}
	fmt.Fprintf(out, "the messages not imported are listed in %s\n", path)
	return nil
}

// importProgress shows messages, bytes, the rate and, once the size of the source is known, the time left, on
// stderr, only when stderr is a terminal. Importers working in parallel share one.
type importProgress struct {
	term             io.Writer
	mu               sync.Mutex
	start            time.Time
	messages         int
	bytes            int64
	expectedMessages int
	expectedBytes    int64
	lastReport       time.Time
}

func newImportProgress(stderr io.Writer) *importProgress {
	p := &importProgress{start: time.Now()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term = stderr
	}
	return p
}

// expect adds to the size of what is to be imported, for the time left.
func (p *importProgress) expect(messages int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expectedMessages += messages
	p.expectedBytes += bytes
}

func (p *importProgress) add(messages int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.messages += messages
	p.bytes += bytes
	if p.term != nil && time.Since(p.lastReport) > 200*time.Millisecond {
		p.lastReport = time.Now()
		p.show()
	}
}

// show writes the progress line; mu is held.
func (p *importProgress) show() {
	elapsed := max(time.Since(p.start).Seconds(), 0.001)
	line := fmt.Sprintf("%d messages, %s, %.0f messages/s, %s/s", p.messages, formatSize(p.bytes),
		float64(p.messages)/elapsed, formatSize(int64(float64(p.bytes)/elapsed)))
	if p.expectedBytes > 0 {
		count := fmt.Sprint(p.messages)
		if p.expectedMessages > 0 {
			count += fmt.Sprintf("/%d", p.expectedMessages)
		}
		line = fmt.Sprintf("%s messages, %s of %s, %.0f messages/s", count, formatSize(p.bytes),
			formatSize(p.expectedBytes), float64(p.messages)/elapsed)
		if p.bytes > 0 && p.bytes < p.expectedBytes {
			left := time.Duration(float64(p.expectedBytes-p.bytes) / float64(p.bytes) * elapsed * float64(time.Second))
			line += ", " + left.Round(time.Second).String() + " left"
		}
	}
	// \x1b[K clears what a longer earlier line left behind.
	fmt.Fprintf(p.term, "\r%s\x1b[K", line)
}

// done ends the progress line.
func (p *importProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term != nil {
		p.show()
		fmt.Fprintln(p.term)
	}
}
