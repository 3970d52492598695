package main

import (
	"fmt"
	"time"

	"mailserver/internal/store"
)

// provinceSpan is the time over which a mailbox's messages are dated, oldest first, ending at the generation.
const provinceSpan = 3 * 365 * 24 * time.Hour

// appendGroup is the parsed messages of one AppendMany: one mailbox's.
type appendGroup struct {
	mailboxID uint64
	msgs      []store.AppendMessage
}

// messages appends what each planned INBOX lacks. The planner generates and parses the next batch (up to
// provinceBatchMessages messages, of one mailbox or of many small ones) on every core while this one is written;
// three batches at most are in memory.
func (g *generator) messages(plan []provinceAccount) error {
	batches := make(chan []appendGroup, 1)
	errc := make(chan error, 1)
	go func() { errc <- g.plan(plan, batches) }()
	var written int
	interval, intervalStart := 0, time.Now()
	for b := range batches {
		n, err := g.write(b)
		if err != nil {
			for range batches { // let the planner finish
			}
			<-errc
			return err
		}
		written += n
		interval += n
		if time.Since(intervalStart) >= progressEvery {
			g.progress(interval, time.Since(intervalStart), written)
			interval, intervalStart = 0, time.Now()
		}
	}
	if interval > 0 {
		g.progress(interval, time.Since(intervalStart), written)
	}
	g.res.Appended = written
	return <-errc
}

// write appends a batch, one transaction per mailbox.
func (g *generator) write(b []appendGroup) (int, error) {
	n := 0
	for _, grp := range b {
		if _, err := g.st.AppendMany(grp.mailboxID, grp.msgs, nil); err != nil {
			return n, fmt.Errorf("append to mailbox %d: %w", grp.mailboxID, err)
		}
		for _, m := range grp.msgs {
			g.res.Bytes += int64(len(m.Body))
		}
		n += len(grp.msgs)
	}
	return n, nil
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

// pending is the messages planned for the next batch and the mailbox of each.
type pending struct {
	specs     []messageSpec
	mailboxes []uint64
}

// plan sends the batches of messages each planned INBOX lacks and closes batches.
func (g *generator) plan(plan []provinceAccount, batches chan<- []appendGroup) error {
	defer close(batches)
	var p pending
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
		for i := int(inbox.Messages); i < a.messages; i++ {
			p.specs = append(p.specs, messageSpec{Seed: g.cfg.Seed, Index: i, Size: g.cfg.Size, From: "vanthu@" + g.cfg.Domain,
				To: addr, Marked: marked(i), Date: g.start.Add(-provinceSpan + time.Duration(i)*step).Truncate(time.Second)})
			p.mailboxes = append(p.mailboxes, inbox.ID)
			if len(p.specs) == provinceBatchMessages || len(p.specs)*g.cfg.Size >= provinceBatchBytes {
				batches <- p.parse()
				p = pending{}
			}
		}
	}
	if len(p.specs) > 0 {
		batches <- p.parse()
	}
	return nil
}

// parse generates and parses the pending messages and groups them by mailbox.
func (p pending) parse() []appendGroup {
	msgs := parseAll(p.specs)
	var groups []appendGroup
	for i, m := range msgs {
		if len(groups) == 0 || groups[len(groups)-1].mailboxID != p.mailboxes[i] {
			groups = append(groups, appendGroup{mailboxID: p.mailboxes[i]})
		}
		last := &groups[len(groups)-1]
		last.msgs = append(last.msgs, m)
	}
	return groups
}
