package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"mailserver/internal/server"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the mail server until interrupted",
		Long: `Run the mail server: SMTP (inbound and submission), IMAP, HTTP and HTTPS (/healthz, the settings mail
clients configure themselves from, and the CardDAV address book of the whole organisation), Prometheus metrics
on their own listener ([metrics], 127.0.0.1:9725 by default) and the control socket used by the other
commands. SIGINT or SIGTERM stops it gracefully: SMTP transactions under way finish, other SMTP connections get
421, IMAP clients BYE, all within shutdown_timeout (default 30s), after which what is still open is closed.

Without --config the built-in development settings are used: every listener on 127.0.0.1, data in ./data, and
on the very first start a demo account whose password is printed once.`,
		Example: `  mailserver serve
  mailserver --config /etc/mailserver/mailserver.toml serve`,
		Args: args(),
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			logger := slog.New(cfg.LogHandler(cmd.ErrOrStderr()))
			slog.SetDefault(logger)
			logger.Info("starting", "config", a.configPath, "data_dir", cfg.DataDir, "hostname", cfg.Hostname,
				"max_message_size", cfg.SMTP.MaxMessageSize.String())
			tuneGC(logger)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.New(cfg, logger, server.Options{Bootstrap: a.configPath == ""})
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		}),
	}
}
