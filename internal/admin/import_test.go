package admin_test

import (
	"errors"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

func TestImportKeysWithoutMessageID(t *testing.T) {
	svc, st := newServiceWithUser(t)
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	msg := func(body string, date time.Time) admin.ImportMessage {
		return admin.ImportMessage{Folder: "Cũ", Data: []byte("Subject: không có Message-ID\r\n\r\n" + body), Date: date}
	}
	batch := admin.ImportBatch{Address: "an.nv@vinhyen.gov.vn", Messages: []admin.ImportMessage{
		msg("một", date), msg("hai", date), msg("một", date.Add(time.Hour)), msg("một", date),
	}}
	got, err := svc.Import(batch)
	if err != nil {
		t.Fatal(err)
	}
	// Same size, date and start: the same message. Another text or another date: another message.
	want := []string{admin.ImportedStatus, admin.ImportedStatus, admin.ImportedStatus, admin.DuplicateStatus}
	for i, s := range got {
		if s.Outcome != want[i] {
			t.Errorf("message %d: %+v, want %s", i, s, want[i])
		}
	}
	a, _ := st.Account("an.nv@vinhyen.gov.vn")
	if mb, err := st.Mailbox(a.ID, "Cũ"); err != nil || mb.Messages != 3 {
		t.Errorf("folder %+v, %v", mb, err)
	}
}

func TestImportRefusals(t *testing.T) {
	svc, _ := newServiceWithUser(t)
	_, err := svc.Import(admin.ImportBatch{Address: "khong.co@vinhyen.gov.vn", Messages: []admin.ImportMessage{{Folder: "INBOX"}}})
	if !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("import into a missing account: %v", err)
	}
	tooMany := make([]admin.ImportMessage, store.ImportBatchMessages+1)
	_, err = svc.Import(admin.ImportBatch{Address: "an.nv@vinhyen.gov.vn", Messages: tooMany})
	if !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("a batch over the bound: %v", err)
	}
}
