package admin_test

import (
	"bytes"
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// TestExportReadBatches reads messages larger than a batch, one after another: no call hands out more than
// ExportBatchBytes, pieces continue where the last call stopped, and together they are the trace lines and body of
// each message, byte for byte. A UID that does not exist is left out.
func TestExportReadBatches(t *testing.T) {
	svc, st := newServiceWithUser(t)
	const addr = "an.nv@vinhyen.gov.vn"
	a, err := st.Account(addr)
	if err != nil {
		t.Fatal(err)
	}
	trace := "Delivered-To: " + addr + "\r\n"
	var want [][]byte
	for i, size := range []int{5 << 20, 5 << 20, 9 << 20, 0} {
		body := "Subject: " + strings.Repeat("x", i+1) + "\r\n\r\n" + strings.Repeat("y", size)
		c := store.Copy{AccountID: a.ID, Trace: []byte(trace)}
		if _, err := st.Deliver(store.NewMessage{Body: []byte(body)}, []store.Copy{c}); err != nil {
			t.Fatal(err)
		}
		want = append(want, []byte(trace+body))
	}
	var size int64
	for _, w := range want {
		size += int64(len(w))
	}
	folders, err := svc.ExportFolders(addr, "mbox", "/srv/out")
	if err != nil || len(folders) != 6 || folders[2] != (admin.ExportFolder{Name: "INBOX", Messages: 4, Size: size}) {
		t.Fatalf("folders %+v, %v", folders, err)
	}
	uids := []uint32{1, 2, 3, 99, 4}
	got := map[uint32][]byte{}
	var offset int64
	for calls := 0; len(uids) > 0; calls++ {
		if calls == 10 {
			t.Fatal("the export does not end")
		}
		pieces, err := svc.ExportRead(addr, "INBOX", uids, offset)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, p := range pieces {
			total += len(p.Data)
			if p.Offset != int64(len(got[p.UID])) {
				t.Fatalf("uid %d: piece from %d, have %d bytes", p.UID, p.Offset, len(got[p.UID]))
			}
			got[p.UID] = append(got[p.UID], p.Data...)
			for uids[0] != p.UID {
				uids = uids[1:]
			}
			offset = int64(len(got[p.UID]))
			if offset == p.Size {
				uids, offset = uids[1:], 0
			}
		}
		if total > admin.ExportBatchBytes || len(pieces) == 0 {
			t.Fatalf("one call handed out %d pieces, %d bytes", len(pieces), total)
		}
	}
	for i, w := range want {
		if !bytes.Equal(got[uint32(i+1)], w) {
			t.Errorf("uid %d: %d bytes read back, want %d, or they differ", i+1, len(got[uint32(i+1)]), len(w))
		}
	}
}
