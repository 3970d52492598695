package imap

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/netlimit"
)

// One short command must not cost the server the mailbox or a message many times over: FETCH naming a section
// more often than any client does, or SEARCH repeating sets and text keys, gets NO [LIMIT]; at the bound it works.
func TestCommandCostLimits(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", []byte("From: a@example.gov.vn\r\nSubject: Báo cáo\r\n\r\n"+strings.Repeat("nội dung\r\n", 100)), nil)
	selectBox(t, c, "INBOX", false)

	sections := func(n int) *imap.FetchOptions {
		o := &imap.FetchOptions{}
		for i := range n {
			o.BodySection = append(o.BodySection, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true,
				Partial: &imap.SectionPartial{Offset: int64(i), Size: 10}})
		}
		return o
	}
	if _, err := c.Fetch(imap.SeqSetNum(1), sections(maxFetchSections)).Collect(); err != nil {
		t.Fatalf("FETCH with %d sections: %v", maxFetchSections, err)
	}
	_, err := c.Fetch(imap.SeqSetNum(1), sections(maxFetchSections+1)).Collect()
	wantCode(t, err, imap.ResponseCodeLimit)

	sets := func(n int) *imap.SearchCriteria {
		crit := &imap.SearchCriteria{}
		for range n {
			crit.SeqNum = append(crit.SeqNum, imap.SeqSet{{Start: 1, Stop: 0}})
		}
		return crit
	}
	if data, err := c.Search(sets(maxSearchSets), nil).Wait(); err != nil || len(data.AllSeqNums()) != 1 {
		t.Fatalf("SEARCH with %d sets: %v, %v", maxSearchSets, data, err)
	}
	_, err = c.Search(sets(maxSearchSets+1), nil).Wait()
	wantCode(t, err, imap.ResponseCodeLimit)
	// Keys hidden under NOT and OR count too.
	nested := &imap.SearchCriteria{Not: []imap.SearchCriteria{*sets(maxSearchSets / 2)},
		Or: [][2]imap.SearchCriteria{{*sets(maxSearchSets / 2), *sets(1)}}}
	_, err = c.Search(nested, nil).Wait()
	wantCode(t, err, imap.ResponseCodeLimit)
	texts := &imap.SearchCriteria{}
	for range maxSearchKeys + 1 {
		texts.Text = append(texts.Text, "bao cao")
	}
	_, err = c.Search(texts, nil).Wait()
	wantCode(t, err, imap.ResponseCodeLimit)
}

// APPEND shares the memory budget of messages being received: when it is held, APPEND gets NO [LIMIT] and the
// literal is read and dropped, so the connection goes on; with the budget free again the same APPEND works.
func TestAppendWithinMemoryBudget(t *testing.T) {
	memory := netlimit.NewMemory(256 << 10)
	ts := newTestServer(t, func(c *testConfig) { c.opts.Memory = memory })
	c := ts.client(t, nil)
	raw := []byte("From: a@example.gov.vn\r\nSubject: Báo cáo\r\n\r\n" + strings.Repeat("nội dung báo cáo\r\n", 6000))
	_, release, err := memory.ReadAll(strings.NewReader(strings.Repeat("x", 200<<10)), 1<<20) // another message
	if err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	_, err = cmd.Wait()
	wantCode(t, err, imap.ResponseCodeLimit)
	release()
	appendMsg(t, c, "INBOX", raw, nil)
	if mb, _ := ts.st.Mailbox(ts.account.ID, "INBOX"); mb.Messages != 1 {
		t.Errorf("INBOX holds %d messages, want 1", mb.Messages)
	}
	if memory.Free() != 256<<10 {
		t.Errorf("%d bytes of the budget free after the APPEND, want all", memory.Free())
	}
}
