package delivery

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"mailserver/internal/address"
	"mailserver/internal/message"
	"mailserver/internal/sieve"
	"mailserver/internal/store"
	"mailserver/internal/vacation"
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
	cache       *scriptCache
	msg         filterMessage
	header      func() (vacation.Header, error) // the message's header, read once if a reply needs it
	from        string                          // MAIL FROM
	reversePath string                          // the same as the queue sends it
	rcptOf      map[uint64]string               // account id → the RCPT TO that reached it
	id          string                          // the delivery's ID: its forwards and replies are queued under IDs made from it
	trace       []byte                          // this server's Received line for what it queues
	hostname    string
	now         time.Time
	// pre holds the decisions made before the delivery's transaction, by account: the transaction takes one whose
	// script is still the account's active one at the same revision, and runs the script again otherwise.
	pre      map[uint64]preDecision
	mu       sync.Mutex
	failures map[uint64]error // guarded by mu
}

type preDecision struct {
	revision uint64
	decision store.FilterDecision
}

// prepare runs the active scripts of accounts before the delivery's transaction, outside the commit that every
// delivery waits for: only a script changed meanwhile runs inside it.
func (f *filterRun) prepare(st backend, accounts []store.Account) {
	for _, a := range accounts {
		s, err := st.ActiveScriptOf(a.ID)
		if err != nil || s.Name == "" {
			continue
		}
		f.pre[a.ID] = preDecision{revision: s.Revision, decision: f.run(a, store.Copy{AccountID: a.ID}, s)}
	}
}

// decide is store.Delivery.Filter.
func (f *filterRun) decide(acct store.Account, c store.Copy, s store.ActiveScript) store.FilterDecision {
	if p, ok := f.pre[acct.ID]; ok && p.revision == s.Revision && c.Mailbox == "" && len(c.Flags) == 0 {
		return p.decision
	}
	return f.run(acct, c, s)
}

// run runs the account's script on the message.
func (f *filterRun) run(acct store.Account, c store.Copy, s store.ActiveScript) store.FilterDecision {
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
	if len(res.Redirects) > 0 {
		out.Forward = f.forward(acct, res.Redirects)
	}
	if res.Vacation != nil {
		reply, err := f.reply(acct, res.Vacation)
		if err != nil {
			f.note(acct.ID, err)
		}
		out.Reply = reply
	}
	return out
}

// forward is the queue entry of a redirect: the message again, with the envelope sender it came with (RFC 5228
// section 4.2 leaves it to the server: a bounce then goes to whoever sent it, and the message's own DKIM signature,
// which a redirect leaves intact, is what DMARC checks at the destination).
func (f *filterRun) forward(acct store.Account, redirects []sieve.Redirect) *store.Outbound {
	var to []string
	for _, r := range redirects {
		if a, err := address.Parse(r.Address); err == nil && !slices.Contains(to, a.String()) {
			to = append(to, a.String())
		}
	}
	if len(to) == 0 {
		return nil
	}
	return &store.Outbound{ID: fmt.Sprintf("%s.f%d", f.id, acct.ID), From: f.reversePath, Recipients: to, Trace: f.trace}
}

// reply is the automatic reply a vacation action asks for, nil if the message may get none (RFC 3834 section 2,
// RFC 5230 sections 4.5 and 4.6); the store sends it only if none went to the sender within the period.
func (f *filterRun) reply(acct store.Account, v *sieve.Vacation) (*store.FilterReply, error) {
	header, err := f.header()
	if err != nil {
		return nil, nil // an unreadable header: no automatic reply
	}
	rcpt := f.rcptOf[acct.ID]
	own := []string{acct.Address, rcpt}
	if ok, _ := vacation.Eligible(header, f.from, append(slices.Clone(own), v.Addresses...)); !ok {
		return nil, nil
	}
	raw, err := vacation.Reply(vacation.ReplyOptions{Original: header, EnvelopeFrom: f.from, Recipient: rcpt,
		RecipientName: acct.Name, From: v.From, MayUseFrom: func(a string) bool { return slices.Contains(own, a) },
		Subject: v.Subject, Reason: v.Reason, MIME: v.Mime, Hostname: f.hostname, Now: f.now})
	if err != nil {
		return nil, fmt.Errorf("vacation reply: %w", err)
	}
	p := message.Parse(raw)
	return &store.FilterReply{
		Outbound: store.Outbound{ID: fmt.Sprintf("%s.v%d", f.id, acct.ID), Recipients: []string{f.reversePath},
			Trace: f.trace},
		Message: store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: f.now},
		Handle:  v.Handle, Sender: f.from, Period: time.Duration(v.Seconds) * time.Second,
	}, nil
}

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
	bodyText func() string // the folded text of the body, as SEARCH compares it, made once if a body test asks
	// fields holds each header field's decoded values once read: a script of fifty rules asks for the same few
	// fields over and over, and each reading scans the header and decodes its words again.
	fields *fieldCache
}

type fieldCache struct {
	mu     sync.Mutex
	values map[string][]string // by lower-case name; guarded by mu
}

// newFilterMessage is raw as scripts read it; searchText is its stored search text (message.Parsed.SearchText).
func newFilterMessage(raw, searchText []byte) filterMessage {
	_, body := message.SplitSearchText(searchText)
	return filterMessage{raw: raw, bodyText: sync.OnceValue(func() string { return string(body) }),
		fields: &fieldCache{values: map[string][]string{}}}
}

// newFilterRun prepares the filtering of one delivery of raw.
func (t *Transaction) newFilterRun(raw, searchText []byte, now time.Time) *filterRun {
	f := &filterRun{cache: t.d.sieve, msg: newFilterMessage(raw, searchText), from: t.env.From,
		reversePath: reversePath(t.env.From), rcptOf: map[uint64]string{}, failures: map[uint64]error{},
		pre: map[uint64]preDecision{},
		id:  t.id, trace: t.outboundTrace(now), hostname: t.d.hostname, now: now}
	f.header = sync.OnceValues(func() (vacation.Header, error) { return vacation.ReadHeader(raw) })
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
	key := strings.ToLower(name)
	m.fields.mu.Lock()
	defer m.fields.mu.Unlock()
	if values, ok := m.fields.values[key]; ok {
		return values
	}
	values := message.FieldValues(m.raw, name)
	for i, v := range values {
		values[i] = message.DecodeHeaderValue(v)
	}
	m.fields.values[key] = values
	return values
}

func (m filterMessage) Size() int64 { return int64(len(m.raw)) }

func (m filterMessage) BodyText() string { return m.bodyText() }

func (m filterMessage) RawBody() []byte {
	if i := bytes.Index(m.raw, []byte("\r\n\r\n")); i >= 0 {
		return m.raw[i+4:]
	}
	if i := bytes.Index(m.raw, []byte("\n\n")); i >= 0 {
		return m.raw[i+2:]
	}
	return nil
}
