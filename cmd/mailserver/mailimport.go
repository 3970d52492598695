package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/mailfile"
	"mailserver/internal/store"
)

// mailImportFlags are the flags of 'import'.
type mailImportFlags struct {
	into         string
	folder       string
	quotaEnforce bool
	report       string
}

func newImportCmd(a *app) *cobra.Command {
	var f mailImportFlags
	cmd := &cobra.Command{
		Use:   "import mbox|maildir|eml PATH --into ADDRESS [--folder NAME]",
		Short: "Import mail from an mbox file, a Maildir tree or a tree of .eml files into a mailbox",
		Long: `Import a user's old mail into an account (a user or a shared mailbox):
  mbox FILE     one mbox file (mutt, Dovecot, Thunderbird), into the folder named like the file ("Sent" becomes
                Sent, "Inbox" INBOX, anything else a folder of that name), or --folder
  mbox DIR      a tree of mbox files (Thunderbird's "Local Folders"): each file into the folder its path names,
                "Inbox.sbd/Công văn" into "INBOX/Công văn"
  maildir DIR   a Maildir tree (Dovecot, Courier): its root into INBOX, its sub-folders into folders of their own
  eml DIR       a tree of .eml files (Zimbra's and Outlook's exports): each directory becomes a folder, the root's
                files go into INBOX
Folders are created as needed, nested with '/'. Other systems' special folders are mapped onto ours ("Sent Items",
"Đã gửi" and "[Gmail]/Sent Mail" become Sent; Trash, Drafts, Junk and Archive likewise). With --folder a tree is
put under that folder instead: what would go into INBOX goes into the folder itself, INBOX's sub-folders become
its sub-folders, and the others go beneath it.

Every message is stored as it is, byte for byte with CRLF line endings, malformed or not, with its flags and
keywords (mbox Status/X-Keywords and Thunderbird headers, Maildir flag letters and dovecot-keywords) and its
date: mbox's From line, a Maildir file's time, an .eml file's Date header (else the file's time). Quota is not
counted against an import unless --quota-enforce is given.

Running the same import again imports nothing twice: a message already imported into the same folder and still
there is skipped, matched by its Message-ID or, without one, by its size, date and the start of its text. A
message that cannot be stored (larger than the server's maximum message size, over quota with --quota-enforce)
is listed with the reason in the report file, whose path is printed at the end, and the import goes on.
Messages are committed in batches (500 messages or 32 MiB): one that was counted is stored, and an interrupted
import is completed by running it again. The summary gives per folder the messages imported, skipped as
duplicates and failed.`,
		Example: `  mailserver import mbox ~/old/Inbox --into an.nv@vinhyen.gov.vn
  mailserver import mbox sent.mbox --into an.nv@vinhyen.gov.vn --folder "Lưu trữ/Đã gửi 2019"
  mailserver import maildir /var/vmail/vinhyen.gov.vn/an/Maildir --into an.nv@vinhyen.gov.vn
  mailserver import eml ./zimbra-export --into vanthu@vinhyen.gov.vn --folder "Zimbra"`,
		Args: args("mbox|maildir|eml", "PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if f.into == "" {
				return errors.New("--into ADDRESS is required: the account to import into")
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			src, err := openMailSource(args[0], args[1], f.folder, int(cfg.SMTP.MaxMessageSize))
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				imp := newImporter(api, f, cmd.ErrOrStderr())
				if err := imp.run(src); err != nil {
					return err
				}
				return imp.finish(cmd.OutOrStdout())
			})
		}),
	}
	cmd.Flags().StringVar(&f.into, "into", "", "the account to import into (required)")
	cmd.Flags().StringVar(&f.folder, "folder", "", "the folder to import into (mbox), or to put the tree under")
	cmd.Flags().BoolVar(&f.quotaEnforce, "quota-enforce", false, "refuse messages that would take the account over its quota")
	cmd.Flags().StringVar(&f.report, "report", "", "where to list the messages not imported (default: import-report-TIME.txt)")
	return cmd
}

// mailSource hands out the messages of one import with the folder each goes into.
type mailSource interface {
	// next returns the next message and its folder, or io.EOF; a message it could not read comes back as an
	// error wrapping errSkipped, and reading goes on.
	next() (*mailfile.Message, string, error)
	close() error
}

var errSkipped = errors.New("skipped")

func openMailSource(kind, path, folder string, maxSize int) (mailSource, error) {
	switch kind {
	case "mbox":
		return openMbox(path, folder, maxSize)
	case "maildir":
		return openMaildirTree(path, folder, maxSize)
	case "eml":
		return openEmlSource(path, folder, maxSize)
	}
	return nil, fmt.Errorf("unknown format %q: mbox, maildir or eml", kind)
}

// skippable turns an error of one message file into errSkipped: too large, or a file that could not be read.
func skippable(err error) error {
	var pathErr *fs.PathError
	if errors.Is(err, mailfile.ErrTooLarge) || errors.As(err, &pathErr) {
		return fmt.Errorf("%w: %w", errSkipped, err)
	}
	return err
}

// placeFolder maps a source folder ("" for a tree's root, which is INBOX) onto ours. Under --folder, INBOX
// becomes that folder and INBOX's sub-folders its sub-folders; the others go beneath it.
func placeFolder(source, under string) string {
	name := "INBOX"
	if source != "" {
		name = mailfile.MapFolder(source)
	}
	if under == "" {
		return name
	}
	first, rest, nested := strings.Cut(name, "/")
	switch {
	case !strings.EqualFold(first, "INBOX"):
		return under + "/" + name
	case nested:
		return under + "/" + rest
	}
	return under
}

type mboxSource struct {
	file   *os.File
	r      *mailfile.MboxReader
	folder string
}

// openMbox opens an mbox file, or a tree of them (Thunderbird's local folders) when path is a directory.
func openMbox(path, folder string, maxSize int) (mailSource, error) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return openMboxTree(path, folder, maxSize)
	}
	if folder == "" {
		folder = mailfile.MapFolder(mboxFolderName(filepath.Base(path)))
	}
	return openMboxFile(path, folder, maxSize)
}

func openMboxFile(path, folder string, maxSize int) (*mboxSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := mailfile.NewMboxReader(f, mailfile.MboxOptions{MaxSize: maxSize, Name: path})
	return &mboxSource{file: f, r: r, folder: folder}, nil
}

// mboxFolderName is the folder an mbox file or a directory of a tree stands for: Thunderbird keeps the
// sub-folders of "Inbox" in "Inbox.sbd", and other programs name files "Sent.mbox".
func mboxFolderName(name string) string {
	for _, ext := range []string{".sbd", ".mbox", ".mbx"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// mboxTree reads the mbox files of a directory tree one after the other, each into the folder its path names.
type mboxTree struct {
	root  string
	files []string // relative to root
	cur   *mboxSource
	under string
	max   int
}

// openMboxTree lists the tree's mbox files: those that start with a From line. Thunderbird's index files (.msf)
// and settings, which do not, are left out.
func openMboxTree(root, under string, maxSize int) (*mboxTree, error) {
	t := &mboxTree{root: root, under: under, max: maxSize}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !startsWithFromLine(path) {
			return err
		}
		rel, err := filepath.Rel(root, path)
		t.files = append(t.files, rel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mbox tree %s: %w", root, err)
	}
	return t, nil
}

func startsWithFromLine(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 5)
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == "From "
}

func (t *mboxTree) next() (*mailfile.Message, string, error) {
	for {
		if t.cur == nil {
			if len(t.files) == 0 {
				return nil, "", io.EOF
			}
			rel := t.files[0]
			t.files = t.files[1:]
			parts := strings.Split(filepath.ToSlash(rel), "/")
			for i, p := range parts {
				parts[i] = mboxFolderName(p)
			}
			src, err := openMboxFile(filepath.Join(t.root, rel), placeFolder(strings.Join(parts, "/"), t.under), t.max)
			if err != nil {
				return nil, "", err
			}
			t.cur = src
		}
		m, folder, err := t.cur.next()
		if err == io.EOF {
			t.cur.close()
			t.cur = nil
			continue
		}
		return m, folder, err
	}
}

func (t *mboxTree) close() error {
	if t.cur != nil {
		return t.cur.close()
	}
	return nil
}

func (s *mboxSource) next() (*mailfile.Message, string, error) {
	m, err := s.r.Next()
	// Only a message too large is skipped: a read error of the file would come back at every call.
	if errors.Is(err, mailfile.ErrTooLarge) {
		return nil, s.folder, fmt.Errorf("%w: %w", errSkipped, err)
	}
	if err != nil {
		return nil, s.folder, err
	}
	return m, s.folder, nil
}

func (s *mboxSource) close() error { return s.file.Close() }

// maildirTree reads the Maildirs of a tree one after the other.
type maildirTree struct {
	folders []mailfile.Folder
	r       *mailfile.MaildirReader
	under   string
	max     int
}

func openMaildirTree(root, under string, maxSize int) (*maildirTree, error) {
	folders, err := mailfile.MaildirFolders(root)
	if err != nil {
		return nil, err
	}
	return &maildirTree{folders: folders, under: under, max: maxSize}, nil
}

func (s *maildirTree) next() (*mailfile.Message, string, error) {
	for {
		if s.r == nil {
			if len(s.folders) == 0 {
				return nil, "", io.EOF
			}
			r, err := mailfile.OpenMaildir(s.folders[0].Dir, s.max)
			if err != nil {
				return nil, "", err
			}
			s.r = r
		}
		m, err := s.r.Next()
		if err == io.EOF {
			s.r, s.folders = nil, s.folders[1:]
			continue
		}
		folder := placeFolder(s.folders[0].Name, s.under)
		if err != nil {
			return nil, folder, skippable(err)
		}
		return m, folder, nil
	}
}

func (s *maildirTree) close() error { return nil }

// emlSource reads an .eml tree, dating each message by its Date header, else by its file's time.
type emlSource struct {
	r     *mailfile.EmlReader
	under string
}

func openEmlSource(root, under string, maxSize int) (*emlSource, error) {
	r, err := mailfile.OpenEmlTree(root, maxSize)
	if err != nil {
		return nil, err
	}
	return &emlSource{r: r, under: under}, nil
}

func (s *emlSource) next() (*mailfile.Message, string, error) {
	m, err := s.r.Next()
	if err != nil {
		return nil, "", skippable(err)
	}
	m.Date = emlDate(m)
	return m, placeFolder(m.Folder, s.under), nil
}

func (s *emlSource) close() error { return nil }

func emlDate(m *mailfile.Message) time.Time {
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Data)); err == nil {
		if d, err := msg.Header.Date(); err == nil {
			return d
		}
	}
	if info, err := os.Stat(m.Source); err == nil {
		return info.ModTime()
	}
	return time.Time{}
}

// folderTally counts one folder's outcomes.
type folderTally struct {
	imported, duplicates, failed int
}

// importer sends the messages of a source in bounded batches and keeps the tallies and the failures.
type importer struct {
	api    ctl.Backend
	flags  mailImportFlags
	batch  []admin.ImportMessage
	origin []string // each batched message's source, for the report
	bytes  int
	tally  map[string]*folderTally
	order  []string
	report []string // "source: reason" lines
	prog   *importProgress
}

func newImporter(api ctl.Backend, f mailImportFlags, stderr io.Writer) *importer {
	return &importer{api: api, flags: f, tally: map[string]*folderTally{}, prog: newImportProgress(stderr)}
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
		if err != nil {
			return err
		}
		if err := imp.add(m, folder); err != nil {
			return err
		}
	}
	return imp.flush()
}

// add batches a copy of m (the reader reuses its buffer), sending the batch first when m would overfill it.
func (imp *importer) add(m *mailfile.Message, folder string) error {
	if len(imp.batch) >= store.ImportBatchMessages || len(imp.batch) > 0 && imp.bytes+len(m.Data) > store.ImportBatchBytes {
		if err := imp.flush(); err != nil {
			return err
		}
	}
	imp.batch = append(imp.batch, admin.ImportMessage{Folder: folder, Data: bytes.Clone(m.Data),
		Flags: append([]string(nil), m.Flags...), Date: m.Date})
	imp.origin = append(imp.origin, m.Source)
	imp.bytes += len(m.Data)
	return nil
}

// flush sends the batch; its messages count once the store has committed them.
func (imp *importer) flush() error {
	if len(imp.batch) == 0 {
		return nil
	}
	statuses, err := ctl.Call(imp.api, ctl.ImportBatch,
		admin.ImportBatch{Address: imp.flags.into, EnforceQuota: imp.flags.quotaEnforce, Messages: imp.batch})
	if err != nil {
		return fmt.Errorf("import into %s: %w", imp.flags.into, err)
	}
	if len(statuses) != len(imp.batch) {
		return fmt.Errorf("import into %s: %d outcomes for %d messages", imp.flags.into, len(statuses), len(imp.batch))
	}
	for i, st := range statuses {
		m := imp.batch[i]
		switch st.Outcome {
		case admin.ImportedStatus:
			imp.folder(m.Folder).imported++
		case admin.DuplicateStatus:
			imp.folder(m.Folder).duplicates++
		default:
			imp.fail(m.Folder, st.Reason, imp.origin[i])
		}
	}
	imp.prog.add(len(imp.batch), imp.bytes)
	imp.batch, imp.origin, imp.bytes = imp.batch[:0], imp.origin[:0], 0
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

// finish prints the summary per folder, and writes the report of the failures and says where it is.
func (imp *importer) finish(out io.Writer) error {
	imp.prog.done()
	var total folderTally
	fmt.Fprintf(out, "%-40s %9s %11s %7s\n", "FOLDER", "IMPORTED", "DUPLICATES", "FAILED")
	for _, name := range imp.order {
		t := imp.tally[name]
		fmt.Fprintf(out, "%-40s %9d %11d %7d\n", cleanCell(name), t.imported, t.duplicates, t.failed)
		total.imported += t.imported
		total.duplicates += t.duplicates
		total.failed += t.failed
	}
	fmt.Fprintf(out, "imported %d messages into %s, skipped %d already there, %d failed\n",
		total.imported, display(imp.flags.into), total.duplicates, total.failed)
	if len(imp.report) == 0 {
		return nil
	}
	path := imp.flags.report
	if path == "" {
		path = "import-report-" + time.Now().Format("20060102-150405") + ".txt"
	}
	if err := os.WriteFile(path, []byte(strings.Join(imp.report, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the report of the %d messages not imported: %w", len(imp.report), err)
	}
	fmt.Fprintf(out, "the messages not imported are listed in %s\n", path)
	return nil
}

// importProgress shows messages, bytes and the rate on stderr, only when stderr is a terminal.
type importProgress struct {
	term       io.Writer
	start      time.Time
	messages   int
	bytes      int64
	lastReport time.Time
}

func newImportProgress(stderr io.Writer) *importProgress {
	p := &importProgress{start: time.Now()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term = stderr
	}
	return p
}

func (p *importProgress) add(messages, bytes int) {
	p.messages += messages
	p.bytes += int64(bytes)
	if p.term != nil && time.Since(p.lastReport) > 200*time.Millisecond {
		p.lastReport = time.Now()
		p.show()
	}
}

func (p *importProgress) show() {
	rate := float64(p.messages) / max(time.Since(p.start).Seconds(), 0.001)
	fmt.Fprintf(p.term, "\r%d messages, %s, %.0f messages/s", p.messages, formatSize(p.bytes), rate)
}

// done ends the progress line.
func (p *importProgress) done() {
	if p.term != nil {
		p.show()
		fmt.Fprintln(p.term)
	}
}
