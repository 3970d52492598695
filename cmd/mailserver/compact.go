package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailserver/internal/config"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

func newCompactCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "Shrink the store file after much mail was deleted (server stopped)",
		Long: `Rewrite the store file (mail.db) without its free space. The file never shrinks by itself: space freed
by deleted mail is reused for new mail, but not returned to the disk. Compaction needs the server stopped and free
disk space for a second copy of the file; the original is replaced only after the copy passes the integrity check.`,
		Example: `  systemctl stop mailserver && mailserver compact && systemctl start mailserver`,
		Args:    args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return compact(cmd, cfg)
		}),
	}
}

func compact(cmd *cobra.Command, cfg config.Config) error {
	if client, err := ctl.Dial(cfg.SocketPath()); err == nil {
		client.Close()
		return fmt.Errorf("the server is running: stop it first, compaction needs the store file to itself")
	}
	res, err := store.Compact(cfg.DBPath())
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "compacted %s: %s → %s\n", cfg.DBPath(),
		formatSize(res.Before), formatSize(res.After))
	return nil
}
