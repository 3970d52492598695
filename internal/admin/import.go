package admin

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// ImportBatch is a bounded batch of messages read from mailbox files, for one account. The importer reads the
// files and sends the bytes, so the server never opens the administrator's files.
type ImportBatch struct {
	Address      string          `json:"address"`
	EnforceQuota bool            `json:"enforce_quota,omitempty"`
	Messages     []ImportMessage `json:"messages"`
	// Source and Marks record how far an import from a server has read (store.SourceMark), committed with the
	// batch so that a re-run starts after it.
	Source string             `json:"source,omitempty"`
	Marks  []store.SourceMark `json:"marks,omitempty"`
	// Folders are created even when no message goes into them.
	Folders []string `json:"folders,omitempty"`
}

// ImportMarksRequest asks how far the imports of one account from one source got.
type ImportMarksRequest struct {
	Address string `json:"address"`
	Source  string `json:"source"`
}

// ImportMessage is one message of a batch.
type ImportMessage struct {
	Folder string    `json:"folder"` // our folder path, '/'-separated
	Data   []byte    `json:"data"`   // the message, CRLF line endings, stored as it is
	Flags  []string  `json:"flags,omitempty"`
	Date   time.Time `json:"date"` // INTERNALDATE; zero: the time of the import
	// From names it on the source server of an IMAP import (ImportBatch.Source).
	From *store.SourceRef `json:"from,omitempty"`
}

// ImportFlagsRequest brings the flags a source server shows now for messages copied from one of its folders.
type ImportFlagsRequest struct {
	Address     string              `json:"address"`
	Source      string              `json:"source"`
	Folder      string              `json:"folder"`
	UIDValidity uint32              `json:"uidvalidity"`
	Messages    []store.SourceFlags `json:"messages"`
}

// importFlagsLimit bounds one request of SyncImportFlags, as ImportBatchMessages bounds a batch.
const importFlagsLimit = 10000

// ImportStatus is what became of one message, in the batch's order.
type ImportStatus struct {
	Outcome string `json:"outcome"` // ImportedStatus, DuplicateStatus or FailedStatus
	Reason  string `json:"reason,omitempty"`
}

// The outcomes of ImportStatus.
const (
	ImportedStatus  = "imported"
	DuplicateStatus = "duplicate"
	FailedStatus    = "failed"
)

// dedupPrefix is how much of a message without a Message-ID its duplicate key hashes.
const dedupPrefix = 1024

// Import stores a batch in the account's folders in one transaction: each message is parsed once, as a delivered
// or appended one is (envelope, structure, search text), and stored as it is, malformed or not. A message already
// imported into the same folder is skipped (see importKey); one that cannot be stored is reported failed with its
// reason and the rest of the batch is stored.
func (s *Service) Import(b ImportBatch) ([]ImportStatus, error) {
	addr, _, err := cleanAddress(b.Address)
	if err != nil {
		return nil, err
	}
	if err := checkImportBounds(b.Messages); err != nil {
		return nil, err
	}
	a, err := s.account(addr)
	if err != nil {
		return nil, err
	}
	msgs := importMessages(b.Messages)
	detail := fmt.Sprintf("%d messages", len(msgs))
	if b.Source != "" {
		detail += " from " + b.Source
	}
	opts := store.ImportOptions{EnforceQuota: b.EnforceQuota, Source: b.Source, Marks: b.Marks, Folders: b.Folders}
	results, err := s.audited("import", addr, detail).ImportBatch(a.ID, msgs, opts)
	if err != nil {
		return nil, userErr(addr, err)
	}
	return importStatuses(results), nil
}

// ImportMarks returns how far the account's imports from a source have read, one mark per source folder.
func (s *Service) ImportMarks(r ImportMarksRequest) ([]store.SourceMark, error) {
	addr, _, err := cleanAddress(r.Address)
	if err != nil {
		return nil, err
	}
	a, err := s.account(addr)
	if err != nil {
		return nil, err
	}
	marks, err := s.st.SourceMarks(a.ID, r.Source)
	if err != nil {
		return nil, userErr(addr, err)
	}
	return marks, nil
}

// SyncImportFlags brings the flag changes made on the source server since the copy (store.SyncSourceFlags) and
// returns how many copies changed.
func (s *Service) SyncImportFlags(r ImportFlagsRequest) (int, error) {
	addr, _, err := cleanAddress(r.Address)
	if err != nil {
		return 0, err
	}
	if len(r.Messages) > importFlagsLimit {
		return 0, failf(ErrInvalid, "a flag sync holds at most %d messages, not %d", importFlagsLimit, len(r.Messages))
	}
	a, err := s.account(addr)
	if err != nil {
		return 0, err
	}
	n, err := s.st.SyncSourceFlags(a.ID, r.Source, r.Folder, r.UIDValidity, r.Messages)
	if err != nil {
		return 0, userErr(addr, err)
	}
	return n, nil
}

// checkImportBounds refuses a batch over the store's bounds, which keep the memory of one transaction bounded.
func checkImportBounds(msgs []ImportMessage) error {
	if len(msgs) > store.ImportBatchMessages {
		return failf(ErrInvalid, "an import batch holds at most %d messages, not %d", store.ImportBatchMessages, len(msgs))
	}
	var size int64
	for _, m := range msgs {
		size += int64(len(m.Data))
	}
	// A single message may be larger than the byte bound: it then travels alone.
	if size > store.ImportBatchBytes && len(msgs) > 1 {
		return failf(ErrInvalid, "an import batch holds at most %d bytes unless it is one message, not %d",
			store.ImportBatchBytes, size)
	}
	return nil
}

// importMessages parses a batch's messages on every core: parsing is most of the work of an import, and each
// message is parsed on its own.
func importMessages(in []ImportMessage) []store.ImportMessage {
	out := make([]store.ImportMessage, len(in))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(in)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(in)); i = next.Add(1) - 1 {
				out[i] = importMessage(in[i])
			}
		})
	}
	wg.Wait()
	return out
}

func importMessage(m ImportMessage) store.ImportMessage {
	p := message.Parse(m.Data)
	return store.ImportMessage{
		Folder:  m.Folder,
		Message: store.NewMessage{Body: m.Data, Meta: p.Meta(), Text: p.SearchText(), InternalDate: m.Date},
		Flags:   m.Flags,
		Key:     importKey(p.Envelope.MessageID, m),
		From:    m.From,
	}
}

// importKey identifies a message for a re-run of an import, whatever the source numbered it: its Message-ID, size
// and INTERNALDATE; without a Message-ID, its size, INTERNALDATE and a hash of its first KiB, which tell apart the
// messages of one mailbox file in practice. The size and date keep two different messages that share a Message-ID
// (a list's copy and the author's) from being taken for one.
func importKey(messageID string, m ImportMessage) []byte {
	key := fmt.Appendf(nil, "size:%d date:", len(m.Data))
	key = strconv.AppendInt(key, m.Date.Unix(), 10)
	if messageID != "" {
		return append(append(key, " id:"...), messageID...)
	}
	sum := sha256.Sum256(m.Data[:min(len(m.Data), dedupPrefix)])
	return append(append(key, " head:"...), sum[:]...)
}

func importStatuses(results []store.ImportResult) []ImportStatus {
	out := make([]ImportStatus, len(results))
	for i, r := range results {
		switch r.Outcome {
		case store.Imported:
			out[i] = ImportStatus{Outcome: ImportedStatus}
		case store.Duplicate:
			out[i] = ImportStatus{Outcome: DuplicateStatus}
		default:
			out[i] = ImportStatus{Outcome: FailedStatus, Reason: r.Reason}
		}
	}
	return out
}
