package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// provinceConfig is one generation.
type provinceConfig struct {
	DBPath   string
	Domain   string
	Accounts int
	Messages int
	Big      int // messages of the big account's INBOX
	Size     int
	Seed     uint64
	Password string
	Log      io.Writer
}

// provinceResult is what a generation did.
type provinceResult struct {
	AccountsAdded, UnitsAdded int
	Appended                  int
	Bytes                     int64
	Elapsed                   time.Duration
	FirstRate, LastRate       float64 // msgs/s over the first and the last progress interval
	FileSize                  int64
	ReopenTime                time.Duration
}

// provinceBatch bounds one AppendMany: a transaction's messages and bytes (and so the generator's memory).
const (
	provinceBatchMessages = 500
	provinceBatchBytes    = 16 << 20
	progressEvery         = 10 * time.Second
)

// generateProvince fills the store at cfg.DBPath. The store is opened without fsync while it is written (a
// generator's crash loses nothing that cannot be generated again) and the file is synced once at the end. A
// rerun with the same flags adds only what is missing: the accounts that do not exist and the messages each
// INBOX lacks (the i-th message of a mailbox is always the same).
func generateProvince(cfg provinceConfig) (provinceResult, error) {
	var res provinceResult
	start := time.Now()
	// No background indexer while generating: it would compete with the generator and leave the index built as far
	// as timing allowed; the server indexes the store in the background once it serves it.
	st, err := store.Open(cfg.DBPath, store.Options{NoSync: true, NoIndexer: true})
	if err != nil {
		return res, err
	}
	plan := planProvince(cfg.Accounts, cfg.Messages, cfg.Big, cfg.Seed)
	g := &generator{cfg: cfg, st: st, res: &res, start: start}
	err = g.directory(plan)
	if err == nil {
		err = g.messages(plan)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(cfg.DBPath)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, err
	}
	return res, g.reopen()
}

// generator is the state of one generation.
type generator struct {
	cfg   provinceConfig
	st    *store.Store
	res   *provinceResult
	start time.Time
}

// directory adds the domain, the unit tree and the accounts that are missing. Every account gets the same
// password hash, computed once: hashing 50,000 passwords would take most of an hour and measures nothing here.
func (g *generator) directory(plan []provinceAccount) error {
	svc := admin.New(g.st)
	if ok, err := g.st.HasDomain(g.cfg.Domain); err != nil {
		return err
	} else if !ok {
		if err := svc.AddDomain(g.cfg.Domain); err != nil {
			return err
		}
	}
	if err := g.units(svc); err != nil {
		return err
	}
	hash, err := auth.DefaultHasher().Hash(g.cfg.Password)
	if err != nil {
		return err
	}
	for i, a := range plan {
		added, err := g.account(a, hash)
		if err != nil {
			return err
		}
		if added {
			g.res.AccountsAdded++
		}
		if (i+1)%10000 == 0 || i+1 == len(plan) {
			g.logf("accounts %d/%d (%d added)", i+1, len(plan), g.res.AccountsAdded)
		}
	}
	return nil
}

func (g *generator) units(svc *admin.Service) error {
	have := map[string]bool{}
	existing, err := g.st.Units()
	if err != nil {
		return err
	}
	for _, u := range existing {
		have[u.Path] = true
	}
	for _, u := range provinceUnits() {
		if have[u.path] {
			continue
		}
		if _, err := svc.AddUnit(u.path, u.name); err != nil {
			return fmt.Errorf("unit %s: %w", u.path, err)
		}
		g.res.UnitsAdded++
	}
	return nil
}

// account adds one planned account unless it exists.
func (g *generator) account(a provinceAccount, hash string) (bool, error) {
	addr := a.local + "@" + g.cfg.Domain
	if _, err := g.st.Account(addr); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrAccountNotFound) && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	_, err := g.st.AddAccount(store.Account{Address: addr, Name: "Cán bộ " + a.local, Unit: a.unit, PasswordHash: hash})
	if err != nil {
		return false, fmt.Errorf("add account %s: %w", addr, err)
	}
	return true, nil
}

func (g *generator) logf(format string, args ...any) {
	if g.cfg.Log != nil {
		fmt.Fprintf(g.cfg.Log, "%6.1fs  %s\n", time.Since(g.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// syncFile makes what was written without fsync durable.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// reopen times opening the finished store as the server does, and records the file's size.
func (g *generator) reopen() error {
	start := time.Now()
	st, err := store.Open(g.cfg.DBPath, store.Options{NoIndexer: true})
	if err != nil {
		return err
	}
	g.res.ReopenTime = time.Since(start)
	if err := st.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(g.cfg.DBPath)
	if err != nil {
		return err
	}
	g.res.FileSize = fi.Size()
	return nil
}

// parseAll generates and parses a batch's messages on every core, as a delivery parses each message once
// (message.Parse: the stored meta and search text). Worker w takes messages w, w+workers, ...
func parseAll(specs []messageSpec) []store.AppendMessage {
	out := make([]store.AppendMessage, len(specs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(specs); i += workers {
				out[i] = parsedMessage(specs[i])
			}
		})
	}
	wg.Wait()
	return out
}

func parsedMessage(spec messageSpec) store.AppendMessage {
	raw := generateMessage(spec)
	p := message.Parse(raw)
	return store.AppendMessage{NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: spec.Date}}
}
