package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// imapImportFlags are the flags of 'import imap'.
type imapImportFlags struct {
	mailImportFlags
	host         string
	user         string
	admin        string
	passwordFile string
	accounts     string
	security     string
	caFile       string
	insecure     bool
	exclude      []string
	parallel     int
}

func newIMAPImportCmd(a *app) *cobra.Command {
	var f imapImportFlags
	cmd := &cobra.Command{
		Use:   "imap --host HOST[:PORT] (--user LOGIN --into ADDRESS | --accounts FILE.csv)",
		Short: "Copy the mail of one or many accounts from the old mail server over IMAP",
		Long: `Copy every folder of an account on the old mail server (Zimbra, MDaemon, Exchange, Dovecot, or another
mailserver) into an account here, over IMAP, with flags, keywords and INTERNALDATE:
  --user LOGIN --into ADDRESS   one account; the old password is the first line of standard input, asked for on a
                                terminal, or read from --password-file
  --accounts FILE.csv           many: one line per account, "new address,old login,old password" (a first line
                                "address,login,password" is a header); keep the file private and delete it after
With --admin NAME the old server's master (admin) user logs in for every account (SASL PLAIN with the account's
login as the authorization identity): its password is read as above and the accounts' passwords are not needed.

Folders: every folder of the personal namespace is copied (other users' and shared folders are not), names are
decoded from modified UTF-7, the old hierarchy delimiter becomes '/', and the old server's special-use folders
(RFC 6154) become ours whatever they are called: its Sent folder ("Sent Items", "Thư đã gửi") becomes Sent, and
Trash, Drafts, Junk and Archive likewise; a server that does not mark them is mapped by name. Virtual folders
(\All, \Flagged) are skipped; --exclude NAME skips a folder and its sub-folders. --folder puts the whole tree
under one folder of ours.

Resuming: how far each folder has been copied (its UIDVALIDITY and last UID) is stored with each batch. Running
the same import again copies only the messages that arrived since, so a first copy can run days before the MX
record moves and a short final run after it; an interrupted run goes on where it stopped. When the old server
has renumbered a folder (a new UIDVALIDITY) the folder is read again and the messages already here, matched by
Message-ID, size and date, are not copied twice. Messages deleted on the old server are not deleted here.

The connection is TLS on port 993 and STARTTLS otherwise (--security tls|starttls|none), and the old server's
certificate is verified unless --insecure-skip-verify is given (--ca-file for a private CA). Messages larger than
the maximum message size here are listed in the report, as are those that could not be stored. The summary gives
per folder (one account) or per account (many) what was copied; with --accounts the per-folder detail of every
account goes to the report file.`,
		Example: `  mailserver import imap --host mail.old.vinhyen.gov.vn --user an.nv --into an.nv@vinhyen.gov.vn
  mailserver import imap --host 10.0.0.5:143 --security starttls --accounts accounts.csv --parallel 4
  mailserver import imap --host mail.old.vinhyen.gov.vn --admin admin@old --password-file admin.pw --accounts accounts.csv`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return runIMAPImport(a, cmd, f)
		}),
	}
	f.register(cmd, "the account to import into (with --user)")
	fl := cmd.Flags()
	fl.StringVar(&f.host, "host", "", "the old IMAP server, HOST or HOST:PORT (required)")
	fl.StringVar(&f.user, "user", "", "the login on the old server (one account)")
	fl.StringVar(&f.admin, "admin", "", "log in as this master/admin user of the old server for every account")
	fl.StringVar(&f.passwordFile, "password-file", "", "read the password (of --user or --admin) from this file")
	fl.StringVar(&f.accounts, "accounts", "", "a CSV file of accounts: new address, old login, old password")
	fl.StringVar(&f.security, "security", "", "tls, starttls or none (default: tls on port 993, starttls otherwise)")
	fl.StringVar(&f.caFile, "ca-file", "", "verify the old server's certificate against this CA (PEM)")
	fl.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify the old server's certificate")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip this folder of the old server and its sub-folders (repeatable)")
	fl.IntVar(&f.parallel, "parallel", 2, "accounts copied at once (with --accounts)")
	return cmd
}

// migrationAccount is one account to copy: ours, and its login and password on the old server.
type migrationAccount struct {
	address, login, password string
}

func runIMAPImport(a *app, cmd *cobra.Command, f imapImportFlags) error {
	if f.host == "" {
		return errors.New("--host is required: the old IMAP server")
	}
	if (f.accounts == "") == (f.user == "") {
		return errors.New("give either --user LOGIN with --into ADDRESS (one account) or --accounts FILE.csv (many)")
	}
	if f.user != "" && f.into == "" {
		return errors.New("--into ADDRESS is required with --user: the account to import into")
	}
	if f.parallel < 1 || f.parallel > 64 {
		return fmt.Errorf("--parallel %d: between 1 and 64", f.parallel)
	}
	server, err := newIMAPServer(f.host, f.security, f.caFile, f.insecure)
	if err != nil {
		return err
	}
	accounts, err := migrationAccounts(cmd, f, server)
	if err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	return a.withAdmin(func(api ctl.Backend) error {
		m := &migration{api: api, server: server, flags: f, maxSize: int64(cfg.SMTP.MaxMessageSize),
			prog: newImportProgress(cmd.ErrOrStderr())}
		if f.user != "" {
			imp, err := m.copyAccount(accounts[0])
			m.prog.done()
			if err != nil && imp != nil {
				err = fmt.Errorf("%w: what was copied is kept; run the same command again to go on from there", err)
			}
			if imp != nil {
				imp.printFolders(cmd.OutOrStdout())
				if werr := writeImportReport(cmd.OutOrStdout(), f.report, imp.report); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		}
		return m.copyAccounts(accounts, cmd.OutOrStdout())
	})
}

// migrationAccounts reads the accounts to copy, and the password of --admin or --user.
func migrationAccounts(cmd *cobra.Command, f imapImportFlags, server *imapServer) ([]migrationAccount, error) {
	var password string
	if f.admin != "" || f.user != "" {
		var err error
		if password, err = readSourcePassword(cmd, f); err != nil {
			return nil, err
		}
	}
	if f.admin != "" {
		server.admin, server.adminPassword = f.admin, password
	}
	if f.user != "" {
		return []migrationAccount{{address: f.into, login: f.user, password: password}}, nil
	}
	accounts, err := readMigrationCSV(f.accounts, f.admin != "")
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(f.accounts); err == nil && info.Mode().Perm()&0o077 != 0 && f.admin == "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s holds passwords and others may read it (chmod 600, and delete it after the import)\n", f.accounts)
	}
	return accounts, nil
}

// readSourcePassword reads the password of the old server's login: from --password-file, the first line of
// standard input, or asked for once on a terminal.
func readSourcePassword(cmd *cobra.Command, f imapImportFlags) (string, error) {
	who := f.user
	if f.admin != "" {
		who = f.admin
	}
	if f.passwordFile != "" {
		file, err := os.Open(f.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer file.Close()
		return firstLine(file)
	}
	in := cmd.InOrStdin()
	if file, ok := in.(*os.File); ok && isTerminal(file) {
		return askPassword(int(file.Fd()), cmd.ErrOrStderr(), fmt.Sprintf("Password of %s on %s: ", who, f.host))
	}
	return firstLine(in)
}

// readMigrationCSV reads "new address,old login,old password" lines; the password may be empty when an admin
// logs in for everyone.
func readMigrationCSV(path string, adminLogin bool) ([]migrationAccount, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--accounts: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	var accounts []migrationAccount
	seen := map[string]bool{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "address") {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, fmt.Errorf("%s line %d: want new address,old login,old password; got %d fields", path, line, len(rec))
		}
		acct := migrationAccount{address: strings.TrimSpace(rec[0]), login: strings.TrimSpace(rec[1])}
		if len(rec) == 3 {
			acct.password = rec[2]
		}
		switch {
		case !strings.Contains(acct.address, "@"):
			return nil, fmt.Errorf("%s line %d: %q is not an address", path, line, acct.address)
		case acct.login == "":
			return nil, fmt.Errorf("%s line %d: the old login is empty", path, line)
		case acct.password == "" && !adminLogin:
			return nil, fmt.Errorf("%s line %d: the old password is empty (or give --admin)", path, line)
		case seen[strings.ToLower(acct.address)+"\x00"+acct.login]:
			return nil, fmt.Errorf("%s line %d: %s from %s is listed twice", path, line, acct.address, acct.login)
		}
		seen[strings.ToLower(acct.address)+"\x00"+acct.login] = true
		accounts = append(accounts, acct)
	}
	if len(accounts) == 0 {
		return nil, fmt.Errorf("%s lists no account", path)
	}
	return accounts, nil
}

// migration copies accounts from one old server.
type migration struct {
	api     ctl.Backend
	server  *imapServer
	flags   imapImportFlags
	maxSize int64
	prog    *importProgress
}

// accountResult is what became of one account of a migration.
type accountResult struct {
	account migrationAccount
	imp     *importer
	err     error
}

// copyAccounts copies the accounts, --parallel at a time, and prints a line per account; the detail per folder
// and the messages not copied go to the report file. An account that fails does not stop the others.
func (m *migration) copyAccounts(accounts []migrationAccount, out io.Writer) error {
	results := make([]accountResult, len(accounts))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(m.flags.parallel, len(accounts)) {
		wg.Go(func() {
			for i := range work {
				imp, err := m.copyAccount(accounts[i])
				results[i] = accountResult{account: accounts[i], imp: imp, err: err}
			}
		})
	}
	for i := range accounts {
		work <- i
	}
	close(work)
	wg.Wait()
	m.prog.done()
	return printAccountResults(out, results, m.flags.report)
}

func printAccountResults(out io.Writer, results []accountResult, reportPath string) error {
	var failed int
	var report strings.Builder
	fmt.Fprintf(out, "%-40s %9s %11s %7s  %s\n", "ACCOUNT", "IMPORTED", "DUPLICATES", "FAILED", "RESULT")
	for _, r := range results {
		var t folderTally
		outcome := "ok"
		fmt.Fprintf(&report, "== %s (from %s)\n", r.account.address, r.account.login)
		if r.imp != nil {
			t = r.imp.total()
			r.imp.printFolders(&report)
			for _, line := range r.imp.report {
				fmt.Fprintf(&report, "not imported: %s\n", line)
			}
		}
		if r.err != nil {
			failed++
			outcome = "error: " + r.err.Error()
			fmt.Fprintf(&report, "stopped: %v\n", r.err)
		}
		report.WriteString("\n")
		fmt.Fprintf(out, "%-40s %9d %11d %7d  %s\n", cleanCell(display(r.account.address)), t.imported, t.duplicates,
			t.failed, outcome)
	}
	if err := writeImportReport(out, reportPath, []string{strings.TrimSuffix(report.String(), "\n")}); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d accounts could not be copied completely: run the same command again to go on where they stopped", failed, len(results))
	}
	return nil
}

// copyAccount copies one account's new messages. The importer is returned with what was copied, error or not.
func (m *migration) copyAccount(acct migrationAccount) (*importer, error) {
	c, err := m.server.connect(acct.login, acct.password)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	flags := m.flags.mailImportFlags
	flags.into = acct.address
	imp := newImporter(m.api, flags, m.prog)
	imp.source = m.server.sourceName(acct.login)
	if err := m.copyFolders(c, imp); err != nil {
		return imp, err
	}
	if err := c.Logout().Wait(); err != nil {
		return imp, fmt.Errorf("log out: %w", err)
	}
	return imp, nil
}

// copyFolders scans every folder for what is new, then copies it: one goroutine fetches the next batch while the
// store commits the last.
func (m *migration) copyFolders(c *imapclient.Client, imp *importer) error {
	folders, err := listFolders(c, m.flags.exclude, m.flags.folder)
	if err != nil {
		return err
	}
	known, err := ctl.Call(m.api, ctl.ImportMarks, admin.ImportMarksRequest{Address: imp.flags.into, Source: imp.source})
	if err != nil {
		return err
	}
	marks := map[string]store.SourceMark{}
	for _, mk := range known {
		marks[mk.Folder] = mk
	}
	for _, f := range folders {
		if err := scan(c, f, marks); err != nil {
			return err
		}
		if err := m.syncFlags(imp, f); err != nil {
			return err
		}
		var bytes int64
		for _, msg := range f.todo {
			bytes += msg.size
		}
		m.prog.expect(len(f.todo), bytes)
	}
	fetched := make(chan fetchedChunk, 1)
	stop := make(chan struct{})
	defer close(stop)
	go m.fetchAll(c, folders, fetched, stop)
	for chunk := range fetched {
		if chunk.err != nil {
			return chunk.err
		}
		if err := m.store(imp, chunk); err != nil {
			return err
		}
	}
	return nil
}

// syncFlags brings the flag changes made on the old server since the last run to the messages copied then.
func (m *migration) syncFlags(imp *importer, f *sourceFolder) error {
	for part := range slices.Chunk(f.copied, 5000) {
		n, err := ctl.Call(m.api, ctl.ImportFlags, admin.ImportFlagsRequest{Address: imp.flags.into,
			Source: imp.source, Folder: f.name, UIDValidity: f.uidValidity, Messages: part})
		if err != nil {
			return fmt.Errorf("bring the flags of %q up to date: %w", f.name, err)
		}
		if n > 0 {
			imp.folder(f.ours).flagsUpdated += n
		}
	}
	return nil
}

// fetchAll fetches the folders' messages batch by batch into out, until done or stop.
func (m *migration) fetchAll(c *imapclient.Client, folders []*sourceFolder, out chan<- fetchedChunk, stop <-chan struct{}) {
	defer close(out)
	send := func(ch fetchedChunk) bool {
		select {
		case out <- ch:
			return ch.err == nil
		case <-stop:
			return false
		}
	}
	for _, f := range folders {
		if len(f.todo) == 0 {
			// An empty folder is created here too, and its mark saved (a folder renumbered since is read again).
			mark := store.SourceMark{Folder: f.name, UIDValidity: f.uidValidity, LastUID: uint32(f.lastUID)}
			if !send(fetchedChunk{folder: f, mark: mark}) {
				return
			}
			continue
		}
		sel, err := c.Select(f.name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err == nil && sel.UIDValidity != f.uidValidity {
			err = fmt.Errorf("%q was renumbered (UIDVALIDITY %d, now %d) while it was being copied: run the import again", f.name, f.uidValidity, sel.UIDValidity)
		}
		if err != nil {
			send(fetchedChunk{err: fmt.Errorf("EXAMINE %q: %w", f.name, err)})
			return
		}
		for _, part := range chunks(f.todo, m.maxSize) {
			if !send(fetchChunk(c, f, part, m.maxSize)) {
				return
			}
		}
	}
}

// store adds a fetched batch to the importer and commits it with the folder's mark.
func (m *migration) store(imp *importer, chunk fetchedChunk) error {
	for i := range chunk.messages {
		if err := imp.addFrom(&chunk.messages[i], chunk.folder.ours, chunk.from[i]); err != nil {
			return err
		}
	}
	for _, big := range chunk.tooLarge {
		imp.fail(chunk.folder.ours, fmt.Sprintf("%d bytes, larger than the maximum message size %d", big.size, m.maxSize),
			fmt.Sprintf("%s;UID=%d", chunk.folder.name, big.uid))
	}
	if len(chunk.messages) == 0 && len(chunk.tooLarge) == 0 {
		imp.ensureFolder(chunk.folder.ours)
	}
	imp.advance(chunk.mark)
	return imp.flush()
}
