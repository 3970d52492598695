package delivery

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"

	"mailserver/internal/message"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
)

// Users' filters (Sieve, RFC 5228) run at delivery, per recipient with an active script, inside the delivery's
// store transaction (store.Delivery.Filter): the script read there decides where that transaction files the copy.
// Compiled scripts are kept by account and revision; a script that fails to compile or to run keeps the message
// (RFC 5228 section 2.10.6), and the failure is logged after the commit.

// SieveCompiler compiles a recipient's script as the rest of the server does (admin.Service.CompileSieve).
type SieveCompiler func(acct store.Account, src []byte) (*sieve.Script, error)

// UseSieve makes deliveries run the recipients' active filter scripts, compiled by compile.
func (d *Deliverer) UseSieve(compile SieveCompiler) {
	d.sieve = &scriptCache{compile: compile, scripts: map[uint64]cachedScript{}}
}

// scriptCache keeps each account's compiled active script, by revision.
type scriptCache struct {
	compile SieveCompiler
	mu      sync.Mutex
	scripts map[uint64]cachedScript // by account id; guarded by mu
}

type cachedScript struct {
	revision uint64
	script   *sieve.Script
	err      error
}

// maxCachedScripts bounds the cache: a province has tens of thousands of accounts, few with a script.
const maxCachedScripts = 10_000

func (c *scriptCache) get(acct store.Account, s store.ActiveScript) (*sieve.Script, error) {
	c.mu.Lock()
	cached, ok := c.scripts[acct.ID]
	c.mu.Unlock()
	if ok && cached.revision == s.Revision {
		return cached.script, cached.err
	}
	script, err := c.compile(acct, bytes.Clone(s.Src))
	c.mu.Lock()
	if len(c.scripts) >= maxCachedScripts {
		clear(c.scripts) // rare: every account with a script compiles again once
	}
	c.scripts[acct.ID] = cachedScript{revision: s.Revision, script: script, err: err}
	c.mu.Unlock()
	return script, err
}

// filterRun is the filtering of one delivery: the message as scripts read it, and what went wrong per account, to
// log once the delivery is committed (the store may run the filter more than once: a note is replaced, not added).
type filterRun struct {
	cache    *scriptCache
	msg      filterMessage
	from     string            // MAIL FROM
	rcptOf   map[uint64]string // account id → the RCPT TO that reached it
	mu       sync.Mutex
	failures map[uint64]error // guarded by mu
}

// decide is store.Delivery.Filter.
func (f *filterRun) decide(acct store.Account, c store.Copy, s store.ActiveScript) store.FilterDecision {
	keep := store.FilterDecision{Filings: []store.Filing{{Mailbox: c.Mailbox, Flags: c.Flags}}}
	script, err := f.cache.get(acct, s)
	if err != nil {
		f.note(acct.ID, err)
		return keep
	}
	res, err := script.Run(f.msg, sieve.Envelope{From: f.from, To: f.rcptOf[acct.ID]}, sieve.RunOptions{})
	f.note(acct.ID, err)
	if err != nil {
		return keep
	}
	var out store.FilterDecision
	switch {
	case res.Keep != nil:
		out.Filings = append(out.Filings, store.Filing{Mailbox: c.Mailbox, Flags: res.Keep.Flags})
	case res.ImplicitKeep:
		out.Filings = append(out.Filings, store.Filing{Mailbox: c.Mailbox, Flags: res.Flags})
	}
	for _, fi := range res.FileInto {
		out.Filings = append(out.Filings, store.Filing{Mailbox: fi.Mailbox, Flags: fi.Flags, Create: fi.Create})
	}
	if len(res.Redirects) > 0 || res.Vacation != nil {
		// Not performed yet (admin.CompileSieve refuses such scripts when they are stored): keep the message
		// rather than lose it to an action that does not happen.
		f.note(acct.ID, errNotPerformed)
		if len(out.Filings) == 0 {
			return keep
		}
	}
	return out
}

var errNotPerformed = errors.New("redirect and vacation are not performed yet")

// note records the outcome of the account's script, replacing what an earlier run of the same delivery noted.
func (f *filterRun) note(accountID uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failures[accountID] = err
	} else {
		delete(f.failures, accountID)
	}
}

// logOutcome logs the filters' failures of a committed delivery.
func (f *filterRun) logOutcome(log *slog.Logger) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, err := range f.failures {
		log.Warn("filter script failed: message kept", "account_id", id, "err", err)
	}
}

// filterMessage is a parsed message as a Sieve script reads it.
type filterMessage struct {
	raw      []byte
	bodyText string // the folded text of the body, as SEARCH compares it
}

// newFilterMessage is raw as scripts read it; searchText is its stored search text (message.Parsed.SearchText).
func newFilterMessage(raw, searchText []byte) filterMessage {
	_, body := message.SplitSearchText(searchText)
	return filterMessage{raw: raw, bodyText: string(body)}
}

// newFilterRun prepares the filtering of one delivery of raw.
func (t *Transaction) newFilterRun(raw, searchText []byte) *filterRun {
	f := &filterRun{cache: t.d.sieve, msg: newFilterMessage(raw, searchText), from: t.env.From,
		rcptOf: map[uint64]string{}, failures: map[uint64]error{}}
	for _, r := range t.rcpts {
		for _, a := range r.accounts {
			if _, ok := f.rcptOf[a.ID]; !ok {
				f.rcptOf[a.ID] = r.addr
			}
		}
	}
	return f
}

func (m filterMessage) HeaderValues(name string) []string {
	values := message.FieldValues(m.raw, name)
	for i, v := range values {
		values[i] = message.DecodeHeaderValue(v)
	}
	return values
}

func (m filterMessage) Size() int64 { return int64(len(m.raw)) }

func (m filterMessage) BodyText() string { return m.bodyText }

func (m filterMessage) RawBody() []byte {
	if i := bytes.Index(m.raw, []byte("\r\n\r\n")); i >= 0 {
		return m.raw[i+4:]
	}
	if i := bytes.Index(m.raw, []byte("\n\n")); i >= 0 {
		return m.raw[i+2:]
	}
	return nil
}
