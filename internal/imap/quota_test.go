package imap

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/store"
)

// setQuota gives an account a quota in bytes, as `mailserver quota set` does.
func setQuota(t *testing.T, st *store.Store, address string, quota int64) {
	t.Helper()
	if _, err := st.UpdateAccount(address, func(a *store.Account) error { a.Quota = quota; return nil }); err != nil {
		t.Fatal(err)
	}
}

// storageOf returns the STORAGE resource of the quota root named root among quotas.
func storageOf(t *testing.T, quotas []imapclient.QuotaData, root string) imapclient.QuotaResourceData {
	t.Helper()
	for _, q := range quotas {
		if q.Root == root {
			if len(q.Resources) != 1 {
				t.Errorf("root %q has resources %v, want only STORAGE", root, q.Resources)
			}
			return q.Resources[imap.QuotaResourceStorage]
		}
	}
	t.Fatalf("no quota root %q in %+v", root, quotas)
	return imapclient.QuotaResourceData{}
}

// TestQuota: GETQUOTAROOT and GETQUOTA report the account's quota as the root "" in KiB, only STORAGE is advertised
// (there is no message count limit), an account without a quota has no root, and SETQUOTA is refused with the
// administrator's command.
func TestQuota(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	caps := capsOf(t, c)
	for _, want := range []imap.Cap{imap.CapQuota, "QUOTA=RES-STORAGE"} {
		if !caps.Has(want) {
			t.Errorf("capabilities lack %s", want)
		}
	}
	for _, unwanted := range []imap.Cap{"QUOTA=RES-MESSAGE", imap.CapQuotaSet} {
		if caps.Has(unwanted) {
			t.Errorf("capabilities advertise %s", unwanted)
		}
	}

	quotas, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(quotas) != 0 {
		t.Errorf("GETQUOTAROOT without a quota: %+v %v, want no root", quotas, err)
	}
	_, err = c.GetQuota("").Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	fillInbox(t, c, 2)
	setQuota(t, ts.st, testUser, 10<<20+1000) // 10 MiB and a part of a KiB, which does not count
	used := mustAccount(t, ts.st, testUser).Used
	quotas, err = c.GetQuotaRoot("Sent").Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := storageOf(t, quotas, "")
	if want := (imapclient.QuotaResourceData{Usage: (used + 1023) / 1024, Limit: 10 << 10}); got != want || got.Usage == 0 {
		t.Errorf("STORAGE %+v, want %+v", got, want)
	}
	quota, err := c.GetQuota("").Wait()
	if err != nil || quota.Resources[imap.QuotaResourceStorage] != got {
		t.Errorf("GETQUOTA \"\": %+v %v, want %+v", quota, err, got)
	}
	_, err = c.GetQuotaRoot("Không có").Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)
	_, err = c.GetQuota(testUser).Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	err = c.SetQuota("", map[imap.QuotaResourceType]int64{imap.QuotaResourceStorage: 1 << 30}).Wait()
	wantCode(t, err, imap.ResponseCodeNoPerm)
	if err == nil || !strings.Contains(err.Error(), "mailserver quota set") {
		t.Errorf("SETQUOTA: %v, want the administrator's command named", err)
	}
	if mustAccount(t, ts.st, testUser).Quota != 10<<20+1000 {
		t.Error("SETQUOTA changed the quota")
	}
}

func mustAccount(t *testing.T, st *store.Store, address string) store.Account {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestQuotaOfSharedMailbox: a shared mailbox's quota root is its owner's address, readable with any grant; a MOVE
// into it over its quota is NO [OVERQUOTA] and moves nothing.
func TestQuotaOfSharedMailbox(t *testing.T) {
	f := newSharedFixture(t, 1)
	setQuota(t, f.st, sharedAddr, 1<<20)
	c := f.client(t, nil)
	_, err := c.GetQuotaRoot(sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent) // no grant: the mailbox does not show
	_, err = c.GetQuota(sharedAddr).Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	f.grant(t, testUser, store.RightRead)
	quotas, err := c.GetQuotaRoot(sharedInbox).Wait()
	if err != nil {
		t.Fatal(err)
	}
	used := mustAccount(t, f.st, sharedAddr).Used
	want := imapclient.QuotaResourceData{Usage: (used + 1023) / 1024, Limit: 1 << 10}
	if got := storageOf(t, quotas, sharedAddr); got != want {
		t.Errorf("shared STORAGE %+v, want %+v", got, want)
	}
	if quota, err := c.GetQuota(sharedAddr).Wait(); err != nil || quota.Resources[imap.QuotaResourceStorage] != want {
		t.Errorf("GETQUOTA %s: %+v %v, want %+v", sharedAddr, quota, err, want)
	}
	_, err = c.GetQuota(sharedAddr + "/Sent").Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	f.regrant(t, testUser, store.RightRead|store.RightWrite)
	fillInbox(t, c, 1)
	setQuota(t, f.st, sharedAddr, used+10)
	selectBox(t, c, "INBOX", false)
	_, err = c.Move(imap.SeqSetNum(1), sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeOverQuota)
	if mb, _ := f.st.Mailbox(f.account.ID, "INBOX"); mb.Messages != 1 {
		t.Errorf("INBOX holds %d messages after the refused MOVE, want 1", mb.Messages)
	}
}
