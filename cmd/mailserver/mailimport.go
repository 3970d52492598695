package main

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/spf13/cobra"

	"mailserver/internal/ctl"
)

// mailImportFlags are the flags every kind of import has.
type mailImportFlags struct {
	into         string
	folder       string
	quotaEnforce bool
	report       string
}

func (f *mailImportFlags) register(cmd *cobra.Command, into string) {
	cmd.Flags().StringVar(&f.into, "into", "", into)
	cmd.Flags().StringVar(&f.folder, "folder", "", "the folder to import into (mbox), or to put the tree under")
	cmd.Flags().BoolVar(&f.quotaEnforce, "quota-enforce", false, "refuse messages that would take the account over its quota")
	cmd.Flags().StringVar(&f.report, "report", "", "where to list the messages not imported (default: import-report-TIME.txt)")
}

func newImportCmd(a *app) *cobra.Command {
	cmd := group("import", "Bring old mail in: from an IMAP server, mbox files, Maildirs or .eml files",
		`Bring a user's old mail into an account (a user or a shared mailbox), from the old mail server over IMAP or
from files it or a mail program exported. Folders are created as needed and other systems' special folders are
mapped onto ours ("Sent Items", "Đã gửi" and "[Gmail]/Sent Mail" become Sent; Trash, Drafts, Junk and Archive
likewise). Every message is stored as it is, byte for byte, malformed or not, with its flags, keywords and date.
Running an import again imports nothing twice.`)
	cmd.AddCommand(newFileImportCmd(a, "mbox", "Import an mbox file, or a tree of them (Thunderbird's local folders)",
		`  mbox FILE     one mbox file (mutt, Dovecot, Thunderbird), into the folder named like the file ("Sent" becomes
                Sent, "Inbox" INBOX, anything else a folder of that name), or --folder
  mbox DIR      a tree of mbox files (Thunderbird's "Local Folders"): each file into the folder its path names,
                "Inbox.sbd/Công văn" into "INBOX/Công văn"`,
		`  mailserver import mbox ~/old/Inbox --into an.nv@vinhyen.gov.vn
  mailserver import mbox sent.mbox --into an.nv@vinhyen.gov.vn --folder "Lưu trữ/Đã gửi 2019"`),
		newFileImportCmd(a, "maildir", "Import a Maildir tree (Dovecot, Courier)",
			`  maildir DIR   a Maildir tree (Dovecot, Courier): its root into INBOX, its sub-folders into folders of their own`,
			`  mailserver import maildir /var/vmail/vinhyen.gov.vn/an/Maildir --into an.nv@vinhyen.gov.vn`),
		newFileImportCmd(a, "eml", "Import a tree of .eml files (Zimbra's and Outlook's exports)",
			`  eml DIR       a tree of .eml files (Zimbra's and Outlook's exports): each directory becomes a folder, the root's
                files go into INBOX`,
			`  mailserver import eml ./zimbra-export --into vanthu@vinhyen.gov.vn --folder "Zimbra"`),
		newIMAPImportCmd(a))
	return cmd
}

// newFileImportCmd is the command that imports one kind of mail files.
func newFileImportCmd(a *app, kind, short, what, example string) *cobra.Command {
	var f mailImportFlags
	cmd := &cobra.Command{
		Use:   kind + " PATH --into ADDRESS [--folder NAME]",
		Short: short,
		Long: short + `:
` + what + `
Folders are created as needed, nested with '/'. Other systems' special folders are mapped onto ours ("Sent Items",
"Đã gửi" and "[Gmail]/Sent Mail" become Sent; Trash, Drafts, Junk and Archive likewise). With --folder a tree is
put under that folder instead: what would go into INBOX goes into the folder itself, INBOX's sub-folders become
its sub-folders, and the others go beneath it.

Every message is stored as it is, byte for byte with CRLF line endings, malformed or not, with its flags and
keywords (mbox Status/X-Keywords and Thunderbird headers, Maildir flag letters and dovecot-keywords) and its
date: mbox's From line, a Maildir file's time, an .eml file's Date header (else the file's time). Quota is not
counted against an import unless --quota-enforce is given.

Running the same import again imports nothing twice: a message already imported into the same folder and still
there is skipped, matched by its Message-ID, size and date or, without a Message-ID, by its size, date and the
start of its text. A message that cannot be stored (larger than the server's maximum message size, over quota
with --quota-enforce) is listed with the reason in the report file, whose path is printed at the end, and the
import goes on. Messages are committed in batches (500 messages or 32 MiB): one that was counted is stored, and
an interrupted import is completed by running it again. The summary gives per folder the messages imported,
skipped as duplicates and failed.`,
		Example: example,
		Args:    args("PATH"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if f.into == "" {
				return errors.New("--into ADDRESS is required: the account to import into")
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			src, err := openMailSource(kind, args[0], f.folder, int(cfg.SMTP.MaxMessageSize))
			if err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				prog := newImportProgress(cmd.ErrOrStderr())
				prog.expect(0, pathSize(args[0]))
				imp := newImporter(api, f, prog)
				if err := imp.run(src); err != nil {
					return err
				}
				return imp.finish(cmd.OutOrStdout())
			})
		}),
	}
	f.register(cmd, "the account to import into (required)")
	return cmd
}

// pathSize is the size of a file, or of the files of a tree: what an import from it has to read.
func pathSize(path string) int64 {
	var total int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}
