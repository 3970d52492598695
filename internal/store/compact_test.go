package store

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompactShrinksAndKeepsMail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.AddAccount(Account{Address: "an@example.gov.vn"})
	inbox, _ := s.Mailbox(a.ID, "INBOX")
	keep := NewMessage{Body: []byte("Subject: giữ lại\r\n\r\nNội dung\r\n")}
	if _, err := s.Append(inbox.ID, keep, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		big := NewMessage{Body: bytes.Repeat([]byte{byte('a' + i)}, 1<<20)}
		if _, err := s.Append(inbox.ID, big, []string{`\Deleted`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	sweepNow(t, s) // deletes the released chunks
	if _, err := Compact(path); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Errorf("compact while open: %v", err)
	}
	s.Close()

	res, err := Compact(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.After >= res.Before/4 {
		t.Errorf("compacted %d → %d bytes", res.Before, res.After)
	}
	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs, err := s.Messages(inbox.ID, []uint32{1}, FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("kept message: %v %v", msgs, err)
	}
	got, _ := io.ReadAll(io.NewSectionReader(s.Body(msgs[0].Body, msgs[0].BodySize), 0, msgs[0].BodySize))
	if !bytes.Equal(got, keep.Body) {
		t.Error("kept message changed by compaction")
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}
