package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

func newRestoreCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the store with a backup (server stopped)",
		Long: `Replace the store (mail.db) with FILE, a backup written by 'mailserver backup'. The server must be
stopped. FILE is verified first (it opens, its schema is one this version reads, and it passes 'mailserver check');
an existing store is replaced only with --force, and is kept beside the new one as mail.db.before-restore-<time>.

Every mailbox gets a new UIDVALIDITY: the UIDs handed out after the backup was taken will be handed out again, so
mail clients must drop what they cached of each folder and read it anew (RFC 9051 2.3.1.1). Mail received after the
backup was taken is not in the restored store.`,
		Example: `  systemctl stop mailserver
  mailserver restore --force /var/backups/mailserver/mail-2026-12-06.db
  systemctl start mailserver`,
		Args: args("FILE"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return restore(cmd, cfg, args[0], force)
		}),
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing store (kept aside as mail.db.before-restore-<time>)")
	return cmd
}

func restore(cmd *cobra.Command, cfg config.Config, file string, force bool) error {
	db := cfg.DBPath()
	if client, err := ctl.Dial(cfg.SocketPath()); err == nil || fileLocked(db) {
		if client != nil {
			client.Close()
		}
		return errors.New("the server is running: stop it first, a restore replaces the store file under it")
	}
	info, err := store.VerifyBackup(file)
	if err != nil {
		return fmt.Errorf("%w; nothing was restored", err)
	}
	_, err = os.Stat(db)
	exists := err == nil
	if exists && !force {
		return fmt.Errorf("%s exists: add --force to replace it (it is kept aside)", db)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	tmp, err := copyToTemp(file, cfg.DataDir)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	mailboxes, err := renewUIDValidities(tmp, file)
	if err != nil {
		return err
	}
	aside, err := replaceStore(tmp, db, exists)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "restored %s: %s, %d messages; %d mailboxes have a new UIDVALIDITY\n", file,
		formatSize(info.Size), info.Messages, mailboxes)
	if aside != "" {
		fmt.Fprintf(out, "the previous store is kept as %s\n", aside)
	}
	return nil
}

// copyToTemp copies file into a new temporary file in dir, synced, and returns its name.
func copyToTemp(file, dir string) (string, error) {
	src, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	dst, err := os.CreateTemp(dir, ".mail.db.restore-*")
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst.Name())
		return "", fmt.Errorf("restore: copy %s: %w", file, err)
	}
	return dst.Name(), nil
}

// renewUIDValidities opens the copy as a store and gives its mailboxes new UIDVALIDITY values, with the audit
// record of the restore, before it takes the store's place.
func renewUIDValidities(path, from string) (int, error) {
	st, err := store.Open(path, store.Options{})
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	n, err := admin.New(st).As(osUser()).Restored(absPath(from))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	return n, nil
}

// replaceStore puts the new store at db. An existing store is first linked (or, where links are not possible,
// renamed) to mail.db.before-restore-<time>, so it is never lost; with a link, db names a complete store at
// every moment.
func replaceStore(tmp, db string, exists bool) (aside string, err error) {
	if exists {
		aside = db + ".before-restore-" + time.Now().Format("20060102-150405")
		err := os.Link(db, aside)
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("restore: %s already exists: try again in a second", aside)
		}
		if err != nil {
			if err := os.Rename(db, aside); err != nil {
				return "", fmt.Errorf("restore: keep the old store aside: %w", err)
			}
		}
	}
	if err := os.Rename(tmp, db); err != nil {
		return aside, fmt.Errorf("restore: %w", err)
	}
	return aside, syncDir(filepath.Dir(db))
}
