package main

import (
	"fmt"
	"testing"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// Commands that open the data file themselves, with no server running, do their own job only: they do not start
// the background indexer, which would index mail while they hold the file (and delay their exit). reindex indexes,
// in the foreground.
func TestAdminCommandsDoNotIndexInTheBackground(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	const messages = 5
	e.deliverUnindexed(userAn, messages)
	for _, args := range [][]string{{"user", "list"}, {"check"}, {"quota", "report"}, {"status"}} {
		e.run("", args...)
		if size := e.indexSize(); size.Messages != 0 {
			t.Fatalf("after mailserver %v: %d messages indexed, want none", args, size.Messages)
		}
	}
	e.ok("", "reindex")
	if size := e.indexSize(); size.Messages != messages {
		t.Errorf("after reindex: %d messages indexed, want %d", size.Messages, messages)
	}
}

// deliverUnindexed stores n messages for address directly in the data file, leaving them unindexed.
func (e *env) deliverUnindexed(address string, n int) {
	e.t.Helper()
	st := e.openStoreWithoutIndexer()
	defer st.Close()
	a, err := st.Account(address)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range n {
		raw := fmt.Appendf(nil, "From: b@vinhyen.gov.vn\r\nSubject: Báo cáo %d\r\n\r\nNội dung %d\r\n", i, i)
		p := message.Parse(raw)
		msg := store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()}
		if _, err := st.Deliver(msg, []store.Copy{{AccountID: a.ID}}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// indexSize measures the search index of the data file; no server or command may be running on it.
func (e *env) indexSize() store.IndexSize {
	e.t.Helper()
	st := e.openStoreWithoutIndexer()
	defer st.Close()
	size, err := st.SearchIndexSize()
	if err != nil {
		e.t.Fatal(err)
	}
	return size
}

func (e *env) openStoreWithoutIndexer() *store.Store {
	e.t.Helper()
	st, err := store.Open(e.cfg.DBPath(), store.Options{LockTimeout: time.Second, NoIndexer: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}
