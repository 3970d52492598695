package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

func newBackupCmd(a *app) *cobra.Command {
	var compactCopy, last bool
	cmd := &cobra.Command{
		Use:   "backup FILE|-",
		Short: "Copy the whole store to FILE while the server runs, and verify the copy",
		Long: `Write one consistent snapshot of the store (mail.db) to FILE, while the server keeps serving: mail
delivered during the backup is simply not in it. The copy is written under a temporary name beside FILE, synced,
opened read-only and checked with the same invariants as 'mailserver check'; only then is it renamed to FILE and
the backup reported with its size, message count and duration. The last successful backup is noted in the store
(see --last) and in the audit trail.

With "-" the snapshot goes to standard output (to pipe into compression or to another host); a copy of the same
bytes is written to a temporary file, verified and removed, so that needs free space for one more copy.
--compact writes the copy without the store's free space (smaller, slower; not with "-").

The backup reads the store in one read transaction. Deliveries go on meanwhile, but the space they free cannot be
reused until the backup ends, so the store file may grow during a long backup of a busy server. Works with the
server stopped too (it then reads the file itself).`,
		Example: `  mailserver backup /var/backups/mailserver/mail-$(date +%F).db
  mailserver backup - | zstd > /var/backups/mailserver/mail-$(date +%F).db.zst
  mailserver backup --last`,
		Args: func(cmd *cobra.Command, args []string) error {
			if last {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if last {
				return a.withAdmin(func(api ctl.Backend) error { return showLastBackup(cmd.OutOrStdout(), api) })
			}
			if compactCopy && args[0] == "-" {
				return errors.New("--compact writes a file: it cannot go to standard output")
			}
			return a.withAdmin(func(api ctl.Backend) error { return backup(cmd, api, args[0], compactCopy) })
		}),
	}
	cmd.Flags().BoolVar(&compactCopy, "compact", false, "write a compacted copy (without free space)")
	cmd.Flags().BoolVar(&last, "last", false, "show the last successful backup instead of taking one")
	return cmd
}

func showLastBackup(w io.Writer, api ctl.Backend) error {
	n, err := ctl.Call(api, ctl.BackupLast, ctl.None{})
	if err != nil {
		return err
	}
	if n == nil {
		fmt.Fprintln(w, "no backup recorded")
		return nil
	}
	fmt.Fprintf(w, "last backup %s\n", backupSummary(*n))
	return nil
}

// backupSummary writes a backup's note: "2026-12-07T02:30:00+07:00: FILE, 1.1GB, 10234 messages".
func backupSummary(n admin.BackupNote) string {
	return fmt.Sprintf("%s: %s, %s, %d messages", showTime(n.Time), n.File, formatSize(n.Size), n.Messages)
}

// backup writes, verifies and records one backup to file ("-": standard output).
func backup(cmd *cobra.Command, api ctl.Backend, file string, compactCopy bool) error {
	start := time.Now()
	dir, err := backupDir(file)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".mailserver-backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	info, err := writeSnapshot(cmd, api, tmp, file == "-")
	if err != nil {
		return err
	}
	verified, err := store.VerifyBackup(tmp.Name())
	if err != nil {
		return fmt.Errorf("backup: the copy failed verification: %w", err)
	}
	if verified != info {
		return fmt.Errorf("backup: the copy holds %d bytes and %d messages, the snapshot had %d and %d",
			verified.Size, verified.Messages, info.Size, info.Messages)
	}
	if file != "-" {
		if info, err = placeBackup(tmp.Name(), file, info, compactCopy); err != nil {
			return err
		}
	}
	took := time.Since(start)
	note := admin.BackupNote{Time: start, File: absPath(file), Size: info.Size, Messages: info.Messages}
	if err := ctl.Do(api, ctl.BackupRecord, note); err != nil {
		return fmt.Errorf("backup written and verified, but not recorded: %w", err)
	}
	out := cmd.OutOrStdout()
	if file == "-" {
		out = cmd.ErrOrStderr()
	}
	fmt.Fprintf(out, "backup %s: %s, %d messages, verified, %s (%s/s)\n", note.File, formatSize(info.Size),
		info.Messages, took.Round(time.Millisecond), formatSize(int64(float64(info.Size)/max(took.Seconds(), 0.001))))
	return nil
}

// backupDir is where the temporary copy goes: beside FILE, so that the rename is atomic, or for "-" the
// system's temporary folder.
func backupDir(file string) (string, error) {
	if file == "-" {
		return os.TempDir(), nil
	}
	dir := filepath.Dir(file)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("backup: folder %s does not exist", dir)
	}
	return dir, nil
}

// writeSnapshot streams a snapshot into tmp (and standard output with toStdout), synced and closed.
func writeSnapshot(cmd *cobra.Command, api ctl.Backend, tmp *os.File, toStdout bool) (store.BackupInfo, error) {
	var info store.BackupInfo
	var progress *progressWriter
	err := ctl.CallStream(api, ctl.Backup, ctl.None{}, func(h store.BackupInfo, n int64) (io.Writer, error) {
		info = h
		var w io.Writer = tmp
		if toStdout {
			w = io.MultiWriter(tmp, cmd.OutOrStdout())
		}
		progress = newProgress(cmd.ErrOrStderr(), w, n)
		return progress, nil
	})
	progress.done()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	return info, nil
}

// placeBackup renames the verified copy tmp (which holds info) to file, or with compactCopy writes a compacted
// copy there instead, and syncs the folder so that the name survives a crash.
func placeBackup(tmp, file string, info store.BackupInfo, compactCopy bool) (store.BackupInfo, error) {
	if compactCopy {
		compacted := tmp + ".compact"
		defer os.Remove(compacted) // a no-op once renamed
		var err error
		if info, err = store.CompactCopy(tmp, compacted); err != nil {
			return info, fmt.Errorf("backup: %w", err)
		}
		tmp = compacted
	}
	if err := os.Rename(tmp, file); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	return info, syncDir(filepath.Dir(file))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

func absPath(file string) string {
	if file == "-" {
		return file
	}
	if p, err := filepath.Abs(file); err == nil {
		return p
	}
	return file
}

// progressWriter shows bytes written of the total on stderr, only when stderr is a terminal.
type progressWriter struct {
	w, term    io.Writer
	total, n   int64
	lastReport time.Time
}

func newProgress(stderr, w io.Writer, total int64) *progressWriter {
	p := &progressWriter{w: w, total: total}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.term = stderr
	}
	return p
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.term != nil && time.Since(p.lastReport) > 200*time.Millisecond {
		p.lastReport = time.Now()
		fmt.Fprintf(p.term, "\r%s of %s (%d%%)", formatSize(p.n), formatSize(p.total), p.n*100/max(p.total, 1))
	}
	return n, err
}

// done ends the progress line.
func (p *progressWriter) done() {
	if p != nil && p.term != nil {
		fmt.Fprintf(p.term, "\r%s of %s (%d%%)\n", formatSize(p.n), formatSize(p.total), p.n*100/max(p.total, 1))
	}
}
