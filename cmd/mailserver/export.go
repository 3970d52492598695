package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/mailfile"
)

// exportWindow is how many UIDs one export.read request names; the server's byte budget decides how many of them
// it hands out, so this only bounds the request's size (ctl.MaxRequest).
const exportWindow = 1000

func newExportCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export ADDRESS DIR",
		Short: "Write every folder of a user's or shared mailbox's account to DIR as mbox or Maildir",
		Long: `Write all the mail of ADDRESS (a user or a shared mailbox) into DIR, which must be empty or not exist:
every folder, each message exactly as an IMAP client fetches it (BODY[]: the trace lines the server added at
delivery, then the message), with its flags, keywords and INTERNALDATE where the format carries them.

--format mbox (the default) writes one mboxrd file per folder, "<folder>.mbox", the folder tree as directories
("Lưu trữ/2025.mbox"); flags go in Status/X-Status/X-Keywords, the date in the From line. In a folder name, '%',
'\', control characters, the characters Windows refuses (: * ? " < > |) and a leading '.' are written as %XX.
--format maildir writes Maildir++ as Dovecot does: INBOX in DIR itself, other folders as ".Sent",
".Lưu trữ.2025" in modified UTF-7 ('.' inside a name as %2E, '%' as %25), keywords in dovecot-keywords, the date as the
file's modification time.

Memory stays bounded: messages travel in batches of at most 8 MiB. Everything written is synced to disk at the end.
The export is recorded in the audit trail (who exported which account, to where). Works with the server running
(through its control socket) or stopped.`,
		Example: `  mailserver export an.nv@vinhyen.gov.vn /srv/archive/an.nv
  mailserver export vanthu@vinhyen.gov.vn /srv/archive/vanthu-maildir --format maildir`,
		Args: cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if format != "mbox" && format != "maildir" {
				return fmt.Errorf("--format must be mbox or maildir, not %q", format)
			}
			if err := emptyTarget(args[1]); err != nil {
				return err
			}
			return a.withAdmin(func(api ctl.Backend) error {
				return export(cmd.OutOrStdout(), api, args[0], args[1], format)
			})
		}),
	}
	cmd.Flags().StringVar(&format, "format", "mbox", "mbox or maildir")
	return cmd
}

// emptyTarget refuses a DIR with something in it: an export mixed into older files could not be told apart.
func emptyTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("export: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("export: %s is not empty: export into a new or empty folder", dir)
	}
	return nil
}

// exportTotals counts what an export wrote.
type exportTotals struct {
	folders, messages, keywordsDropped int
	bytes                              int64
}

// export writes every folder of addr into dir and syncs it all once at the end.
func export(w io.Writer, api ctl.Backend, addr, dir, format string) error {
	folders, err := ctl.Call(api, ctl.ExportFolders, ctl.ExportArgs{Address: addr, Format: format, Dir: absPath(dir)})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var t exportTotals
	for _, f := range folders {
		sink, err := openSink(dir, f.Name, format)
		if err != nil {
			return err
		}
		err = exportFolder(api, addr, f.Name, sink, &t)
		if err = errors.Join(err, sink.close()); err != nil {
			return fmt.Errorf("export %s: %w", f.Name, err)
		}
		t.folders++
	}
	if err := syncTree(dir); err != nil {
		return err
	}
	fmt.Fprintf(w, "exported %s: %d folders, %d messages, %s, to %s (%s)\n", addr, t.folders, t.messages,
		formatSize(t.bytes), dir, format)
	if t.keywordsDropped > 0 {
		fmt.Fprintf(w, "warning: %d messages were written without some keywords: a Maildir carries at most 26\n", t.keywordsDropped)
	}
	return nil
}

// exportFolder fetches a folder's messages in bounded batches and writes each to sink. A message larger than a
// batch comes in pieces, put together here; one expunged during the export is left out.
func exportFolder(api ctl.Backend, addr, folder string, sink folderSink, t *exportTotals) error {
	msgs, err := ctl.Call(api, ctl.ExportMessages, ctl.ExportArgs{Address: addr, Folder: folder})
	if err != nil {
		return err
	}
	var buf []byte
	var offset int64
	for i := 0; i < len(msgs); {
		window := msgs[i:min(i+exportWindow, len(msgs))]
		uids := make([]uint32, len(window))
		for k, m := range window {
			uids[k] = m.UID
		}
		pieces, err := ctl.ReadExport(api, ctl.ExportArgs{Address: addr, Folder: folder, UIDs: uids, Offset: offset})
		if err != nil {
			return err
		}
		if len(pieces) == 0 { // every message of the window was expunged
			i, offset, buf = i+len(window), 0, buf[:0]
			continue
		}
		for _, p := range pieces {
			for i < len(msgs) && msgs[i].UID != p.UID {
				i, offset, buf = i+1, 0, buf[:0]
			}
			if i == len(msgs) || p.Offset != int64(len(buf)) {
				return fmt.Errorf("uid %d: the server sent bytes from %d, expected %d", p.UID, p.Offset, len(buf))
			}
			if p.Offset == 0 && int64(cap(buf)) < p.Size {
				buf = make([]byte, 0, p.Size) // a message in pieces: grown once, not by doubling
			}
			buf = append(buf, p.Data...)
			if int64(len(buf)) < p.Size {
				offset = int64(len(buf))
				break
			}
			if err := writeExported(sink, msgs[i], buf, t); err != nil {
				return err
			}
			i, offset, buf = i+1, 0, buf[:0]
		}
	}
	return nil
}

// writeExported writes one message; in a Maildir that has all 26 keyword letters taken, without its keywords.
func writeExported(sink folderSink, m admin.ExportMessage, data []byte, t *exportTotals) error {
	msg := &mailfile.Message{Data: data, Flags: m.Flags, Date: m.Date, Sender: returnPath(data), Source: fmt.Sprintf("uid %d", m.UID)}
	err := sink.write(msg)
	if errors.Is(err, mailfile.ErrTooManyKeywords) {
		msg.Flags = systemFlagsOnly(m.Flags)
		t.keywordsDropped++
		err = sink.write(msg)
	}
	if err != nil {
		return err
	}
	t.messages++
	t.bytes += int64(len(data))
	return nil
}

// returnPath is the envelope sender that delivery put first in the trace lines ("Return-Path: <a@b>"), for the
// mbox From line; "" (written as MAILER-DAEMON) when the message does not start with one.
func returnPath(data []byte) string {
	const field = "return-path:"
	line, _, _ := bytes.Cut(data, []byte("\r\n"))
	if len(line) < len(field) || !strings.EqualFold(string(line[:len(field)]), field) {
		return ""
	}
	return strings.Trim(strings.TrimSpace(string(line[len(field):])), "<>")
}

func systemFlagsOnly(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			out = append(out, f)
		}
	}
	return out
}

// folderSink is where one folder's messages go.
type folderSink interface {
	write(*mailfile.Message) error
	close() error
}

func openSink(dir, folder, format string) (folderSink, error) {
	if format == "maildir" {
		w, err := mailfile.CreateMaildir(maildirPath(dir, folder))
		return maildirSink{w}, err
	}
	path := mboxPath(dir, folder)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &mboxSink{f: f, w: mailfile.NewMboxWriter(f, mailfile.MboxWriterOptions{})}, nil
}

type mboxSink struct {
	f *os.File
	w *mailfile.MboxWriter
}

func (s *mboxSink) write(m *mailfile.Message) error { return s.w.Write(m) }
func (s *mboxSink) close() error                    { return errors.Join(s.w.Flush(), s.f.Close()) }

type maildirSink struct{ w *mailfile.MaildirWriter }

func (s maildirSink) write(m *mailfile.Message) error { return s.w.Write(m) }
func (maildirSink) close() error                      { return nil }

// mboxPath is the file of a folder: its levels as directories, the last one's file with ".mbox" added, so that a
// folder and its subfolders ("Lưu trữ.mbox" beside "Lưu trữ/") never collide.
func mboxPath(dir, folder string) string {
	parts := strings.Split(folder, "/")
	for i, p := range parts {
		parts[i] = safeFileName(p)
	}
	return filepath.Join(dir, filepath.Join(parts...)+".mbox")
}

// safeFileName writes the bytes a file system or another system's tools may refuse or misread as %XX: '%' itself,
// '\', control characters, the characters Windows refuses, and a leading '.' (hidden; "." and ".."). Reversible,
// so two folders never share a file.
func safeFileName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte(`%\:*?"<>|`, c) >= 0 || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// maildirPath is the Maildir++ folder as Dovecot names it: INBOX is dir itself, others ".A.B" with each level in
// modified UTF-7 (RFC 3501 5.1.3). '.' separates levels, so a '.' inside a name is written %2E (and '%' as %25),
// Dovecot's convention when an escape character is configured; modified UTF-7 itself must write '.' as it is.
func maildirPath(dir, folder string) string {
	if folder == "INBOX" {
		return dir
	}
	parts := strings.Split(folder, "/")
	for i, p := range parts {
		parts[i] = maildirEscapes.Replace(mailfile.EncodeFolderName(p))
	}
	return filepath.Join(dir, "."+strings.Join(parts, "."))
}

var maildirEscapes = strings.NewReplacer("%", "%25", ".", "%2E")

// syncTree syncs every file and folder under root once, now that all is written, rather than one fsync per
// message.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return syncDir(path)
	})
}
