package main

import (
	"fmt"
	"time"

	"mailserver/internal/store"
)

// provinceSpan is the time over which a mailbox's messages are dated, oldest first, ending at the generation.
const provinceSpan = 3 * 365 * 24 * time.Hour

// batch is the parsed messages of one AppendMany.
type batch struct {
	mailboxID uint64
	msgs      []store.AppendMessage
}

// messages appends what each planned INBOX lacks. The planner generates and parses the next batch on every
// core while this one is written; three batches at most are in memory.
func (g *generator) messages(plan []provinceAccount) error {
	batches := make(chan batch, 1)
	errc := make(chan error, 1)
	go func() { errc <- g.plan(plan, batches) }()
	var written int
	interval, intervalStart := 0, time.Now()
	lastLog := time.Now()
	for b := range batches {
		msgs := b.msgs
		if _, err := g.st.AppendMany(b.mailboxID, msgs, nil); err != nil {
			for range batches { // let the planner finish
			}
			<-errc
			return fmt.Errorf("append to mailbox %d: %w", b.mailboxID, err)
		}
		for _, m := range msgs {
			g.res.Bytes += int64(len(m.Body))
		}
		written += len(msgs)
		interval += len(msgs)
		if time.Since(lastLog) >= progressEvery {
			g.progress(interval, time.Since(intervalStart), written)
			interval, intervalStart, lastLog = 0, time.Now(), time.Now()
		}
	}
	if interval > 0 {
		g.progress(interval, time.Since(intervalStart), written)
	}
	g.res.Appended = written
	return <-errc
}

// progress logs an interval's rate and remembers the first and the last.
func (g *generator) progress(n int, d time.Duration, total int) {
	r := rate(n, d)
	if g.res.FirstRate == 0 {
		g.res.FirstRate = r
	}
	g.res.LastRate = r
	g.logf("messages +%d (%d this run): %.0f msgs/s, %s of bodies", n, total, r, mib(g.res.Bytes))
}

// plan sends the batches of messages each planned INBOX lacks and closes batches.
func (g *generator) plan(plan []provinceAccount, batches chan<- batch) error {
	defer close(batches)
	for _, a := range plan {
		addr := a.local + "@" + g.cfg.Domain
		acct, err := g.st.Account(addr)
		if err != nil {
			return err
		}
		inbox, err := g.st.Mailbox(acct.ID, "INBOX")
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		step := provinceSpan / time.Duration(max(a.messages, 1))
		var specs []messageSpec
		for i := int(inbox.Messages); i < a.messages; i++ {
			specs = append(specs, messageSpec{Seed: g.cfg.Seed, Index: i, Size: g.cfg.Size, From: "vanthu@" + g.cfg.Domain,
				To: addr, Marked: marked(i), Date: g.start.Add(-provinceSpan + time.Duration(i)*step).Truncate(time.Second)})
			if len(specs) == provinceBatchMessages || len(specs)*g.cfg.Size >= provinceBatchBytes || i == a.messages-1 {
				batches <- batch{mailboxID: inbox.ID, msgs: parseAll(specs)}
				specs = nil
			}
		}
	}
	return nil
}
