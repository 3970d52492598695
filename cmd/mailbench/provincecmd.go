package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"mailserver/internal/config"
)

func runProvinceCmd(_ context.Context, args []string, out io.Writer) error {
	fs := newFlagSet("province", `Generates a province-size store offline, with the project's own packages, in the store of a stopped
server (-config, or -data): the domain, a unit tree (a city, 20 departments, 10 wards each), -accounts accounts
spread over it (big@ plus cb000001@...), and -messages messages parsed as a delivery parses them: -big of them in
big@'s INBOX (for the imap figures), the rest spread with a Pareto skew (most mailboxes small, a few large). 1% of
each mailbox carries fill's search markers. The store is written without fsync and synced once at the end. A
rerun with the same flags adds only what is missing. Then: mailserver serve on the same config.`)
	cfg := provinceConfig{Log: out}
	var cfgPath, dataDir string
	fs.StringVar(&cfgPath, "config", "", "mailserver.toml of the server whose store to fill (its data_dir)")
	fs.StringVar(&dataDir, "data", "", "data folder holding mail.db, instead of -config")
	fs.StringVar(&cfg.Domain, "domain", "example.gov.vn", "the accounts' domain (added if missing)")
	fs.IntVar(&cfg.Accounts, "accounts", 50000, "accounts")
	fs.IntVar(&cfg.Messages, "messages", 1000000, "messages in all")
	fs.IntVar(&cfg.Big, "big", 100000, "messages of big@'s INBOX (part of -messages)")
	fs.IntVar(&cfg.Size, "size", 20<<10, "message size in bytes")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the plan and of the generated messages")
	fs.StringVar(&cfg.Password, "pass", "benchpass10", "password of every account")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case cfgPath != "":
		c, err := config.Load(cfgPath)
		if err != nil {
			return err
		}
		cfg.DBPath = c.DBPath()
	case dataDir != "":
		cfg.DBPath = filepath.Join(dataDir, "mail.db")
	default:
		return fmt.Errorf("-config or -data is required")
	}
	if cfg.Accounts < 1 || cfg.Messages < 0 {
		return fmt.Errorf("-accounts must be at least 1 and -messages not negative")
	}
	res, err := generateProvince(cfg)
	res.report(out, cfg)
	return err
}

func (r provinceResult) report(w io.Writer, cfg provinceConfig) {
	fmt.Fprintf(w, "province %s: %d accounts and %d units added; %d messages (%s) appended in %.1f s: %.0f msgs/s (first interval %.0f, last %.0f)\n",
		cfg.DBPath, r.AccountsAdded, r.UnitsAdded, r.Appended, mib(r.Bytes), r.Elapsed.Seconds(), rate(r.Appended, r.Elapsed), r.FirstRate, r.LastRate)
	if r.FileSize > 0 {
		perMsg := float64(r.FileSize) / float64(max(cfg.Messages, 1))
		fmt.Fprintf(w, "file %s: %.0f bytes per message (messages of %d bytes); opening it took %s\n",
			mib(r.FileSize), perMsg, cfg.Size, ms(r.ReopenTime))
	}
}
