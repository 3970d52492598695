package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"mailserver/internal/ctl"
	"mailserver/internal/mailfile"
	"mailserver/internal/store"
)

// failingSource hands out n small messages, each with its own Message-ID, then fails as a disk would.
type failingSource struct{ sent, n int }

var errDiskRead = errors.New("read error on the old disk")

func (s *failingSource) next() (*mailfile.Message, string, error) {
	if s.sent == s.n {
		return nil, "INBOX", errDiskRead
	}
	s.sent++
	data := fmt.Appendf(nil, "Message-ID: <%d@vinhyen.gov.vn>\r\nSubject: %d\r\n\r\nx\r\n", s.sent, s.sent)
	return &mailfile.Message{Data: data, Source: fmt.Sprint(s.sent)}, "INBOX", nil
}

func (s *failingSource) close() error { return nil }

// The importer reads the next batch while the last one is stored. When the source then fails, the batch still
// being stored is waited for and counted: the summary counts exactly what the store committed, and the partial
// batch after it is not sent.
func TestImporterCountsTheBatchInFlightWhenTheSourceFails(t *testing.T) {
	st, svc := openWithAccounts(t, filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true}, []string{userAn})
	defer st.Close()
	imp := newImporter(ctl.Direct{Service: svc}, mailImportFlags{into: userAn}, newImportProgress(io.Discard))
	n := 2*store.ImportBatchMessages + 100
	if err := imp.run(&failingSource{n: n}); !errors.Is(err, errDiskRead) {
		t.Fatalf("run: %v, want the source's error", err)
	}
	a, err := st.Account(userAn)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Mailbox(a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if got := imp.total().imported; got != 2*store.ImportBatchMessages || int(inbox.Messages) != got {
		t.Errorf("counted %d imported, the store holds %d, want both %d", got, inbox.Messages, 2*store.ImportBatchMessages)
	}
}
