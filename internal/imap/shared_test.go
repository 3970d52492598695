package imap

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

const (
	sharedAddr    = "vanthu.ubnd@example.gov.vn"
	sharedInbox   = "Shared/" + sharedAddr
	sharedSent    = sharedInbox + "/Sent"
	memberUser    = "binh@example.gov.vn"
	memberPass    = "Mật-khẩu-Bình"
	outsiderUser  = "cuong@example.gov.vn"
	outsiderPass  = "Mật-khẩu-Cường"
	unknownShared = "Shared/khong-co@example.gov.vn"
)

// sharedFixture is a server with testUser, a second member, an outsider and the clerk office's shared mailbox,
// whose INBOX holds n delivered messages (UIDs 1..n). Nobody has a grant yet.
type sharedFixture struct {
	*testServer
	shared, member, outsider store.Account
}

func withPasswords(passwords map[string]string) serverOption {
	return func(c *testConfig) {
		fa := c.opts.Auth.(fakeAuth)
		for user, pw := range passwords {
			fa.passwords[user] = pw
		}
	}
}

func newSharedFixture(t *testing.T, n int) *sharedFixture {
	t.Helper()
	ts := newTestServer(t, withPasswords(map[string]string{memberUser: memberPass, outsiderUser: outsiderPass}))
	f := &sharedFixture{testServer: ts}
	var err error
	if f.member, err = ts.st.AddAccount(store.Account{Address: memberUser, Name: "Trần Thị Bình"}); err != nil {
		t.Fatal(err)
	}
	if f.outsider, err = ts.st.AddAccount(store.Account{Address: outsiderUser, Name: "Lê Văn Cường"}); err != nil {
		t.Fatal(err)
	}
	if f.shared, err = ts.st.AddShared(store.Account{Address: sharedAddr, Name: "Văn thư UBND"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		f.deliver(t, fmt.Sprintf("Subject: Công văn số %d\r\nFrom: so-noi-vu@example.gov.vn\r\n\r\nCông văn đến số %d.\r\n", i, i))
	}
	return f
}

// deliver puts a message into the shared INBOX as SMTP delivery would.
func (f *sharedFixture) deliver(t *testing.T, raw string) {
	t.Helper()
	p := message.Parse([]byte(raw))
	_, err := f.st.Deliver(store.NewMessage{Body: []byte(raw), Meta: p.Meta(), Text: p.SearchText()},
		[]store.Copy{{AccountID: f.shared.ID}})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *sharedFixture) grant(t *testing.T, account string, rights store.Rights) {
	t.Helper()
	if err := f.st.SetGrant(sharedAddr, account, rights); err != nil {
		t.Fatal(err)
	}
}

// revoke removes every right, then grants rights again if not zero (SetGrant only adds).
func (f *sharedFixture) regrant(t *testing.T, account string, rights store.Rights) {
	t.Helper()
	if err := f.st.SetGrant(sharedAddr, account, 0); err != nil {
		t.Fatal(err)
	}
	if rights != 0 {
		f.grant(t, account, rights)
	}
}

func (ts *testServer) clientAs(t *testing.T, user, password string, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(ts.addr, &imapclient.Options{UnilateralDataHandler: handler})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return c
}

// sharedInboxFlags reads the flags of a shared INBOX message from the store.
func (f *sharedFixture) sharedInboxFlags(t *testing.T, uid uint32) []string {
	t.Helper()
	mb, err := f.st.Mailbox(f.shared.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := f.st.Messages(mb.ID, []uint32{uid}, store.FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("message %d of the shared INBOX: %v %v", uid, msgs, err)
	}
	return msgs[0].Flags
}

// appendErr appends a small message and returns only the error.
func appendErr(c *imapclient.Client, mailbox string) error {
	raw := []byte("Subject: báo cáo\r\n\r\nnội dung\r\n")
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	_, err := cmd.Wait()
	return err
}

func statusErr(c *imapclient.Client, mailbox string) error {
	_, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	return err
}

func selectErr(c *imapclient.Client, mailbox string) error {
	_, err := c.Select(mailbox, nil).Wait()
	return err
}

func TestSharedNamespaceListing(t *testing.T) {
	f := newSharedFixture(t, 3)
	f.grant(t, testUser, store.RightRead)
	c := f.client(t, nil)

	all := listAll(t, c, "", "*", nil)
	root, inbox, sent := all["Shared"], all[sharedInbox], all[sharedSent]
	if !hasAttr(root, imap.MailboxAttrNoSelect) || !hasAttr(root, imap.MailboxAttrHasChildren) {
		t.Errorf("Shared: %+v", root)
	}
	if inbox == nil || hasAttr(inbox, imap.MailboxAttrNoSelect) || !hasAttr(inbox, imap.MailboxAttrHasChildren) {
		t.Errorf("%s: %+v", sharedInbox, inbox)
	}
	// The unit's Sent is not offered as the user's own: no special-use attribute in the shared namespace.
	if sent == nil || hasAttr(sent, imap.MailboxAttrSent) || !hasAttr(all["Sent"], imap.MailboxAttrSent) {
		t.Errorf("shared Sent %+v, own Sent %+v", sent, all["Sent"])
	}
	for _, name := range []string{"Drafts", "Trash", "Junk", "Archive"} {
		if all[sharedInbox+"/"+name] == nil {
			t.Errorf("LIST * lacks %s/%s: %v", sharedInbox, name, keys(all))
		}
	}
	if all[sharedInbox+"/INBOX"] != nil || all["INBOX"] == nil {
		t.Errorf("LIST *: %v", keys(all))
	}

	if got := keys(listAll(t, c, "", "%", nil)); !slices.Contains(got, "Shared") || slices.Contains(got, sharedInbox) {
		t.Errorf(`LIST "" %%: %v`, got)
	}
	for _, q := range [][2]string{{"", "Shared/%"}, {"Shared/", "%"}} {
		if got := keys(listAll(t, c, q[0], q[1], nil)); !slices.Equal(got, []string{sharedInbox}) {
			t.Errorf("LIST %q %q: %v", q[0], q[1], got)
		}
	}
	for name := range listAll(t, c, "", "*", &imap.ListOptions{SelectSpecialUse: true}) {
		if strings.HasPrefix(name, "Shared") {
			t.Errorf("LIST (SPECIAL-USE) returned %s", name)
		}
	}
	withStatus := listAll(t, c, "", "Shared/*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}})
	if st := withStatus[sharedInbox].Status; st == nil || *st.NumMessages != 3 || st.Mailbox != sharedInbox {
		t.Errorf("LIST-STATUS of the shared INBOX: %+v", st)
	}

	st, err := c.Status(sharedInbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
	if err != nil || st.Mailbox != sharedInbox || *st.NumMessages != 3 || *st.NumUnseen != 3 {
		t.Fatalf("STATUS %s: %+v %v", sharedInbox, st, err)
	}
	// The address part of the name is an address: its case does not matter.
	if err := statusErr(c, "Shared/VanThu.UBND@Example.gov.vn/Sent"); err != nil {
		t.Errorf("STATUS with the address in another case: %v", err)
	}
	wantCode(t, statusErr(c, "Shared"), imap.ResponseCodeNonExistent)
	wantCode(t, selectErr(c, sharedInbox+"/INBOX"), imap.ResponseCodeNonExistent)

	// The namespace is reserved: no personal mailbox can be made in it.
	wantCode(t, c.Create("Shared", nil).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Create("Shared/Riêng", nil).Wait(), imap.ResponseCodeNoPerm)
	wantCode(t, c.Rename("Archive", "Shared/Riêng", nil).Wait(), imap.ResponseCodeNoPerm)
	if err := c.Create("shared-riêng/x", nil).Wait(); err != nil { // only the exact prefix is reserved
		t.Errorf("CREATE shared-riêng/x: %v", err)
	}
}

func TestSharedSubscriptions(t *testing.T) {
	f := newSharedFixture(t, 0)
	f.grant(t, testUser, store.RightRead)
	c := f.client(t, nil)
	if all := listAll(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true}); all[sharedSent] != nil {
		t.Errorf("shared Sent subscribed before SUBSCRIBE: %v", keys(all))
	}
	if err := c.Subscribe("Shared/VANTHU.ubnd@example.gov.vn/Sent").Wait(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.Subscribe(unknownShared).Wait(), imap.ResponseCodeNonExistent)
	subs := listAll(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})
	if !hasAttr(subs[sharedSent], imap.MailboxAttrSubscribed) || !hasAttr(subs["INBOX"], imap.MailboxAttrSubscribed) {
		t.Errorf("LIST (SUBSCRIBED) after SUBSCRIBE: %v", keys(subs))
	}
	// The subscription is the member's own, not the shared account's.
	if own, _ := f.st.Subscriptions(f.testServer.account.ID); !slices.Contains(own, sharedSent) {
		t.Errorf("member's subscriptions: %v", own)
	}
	if err := c.Unsubscribe(sharedSent).Wait(); err != nil {
		t.Fatal(err)
	}
	if subs := listAll(t, c, "", "Shared/*", &imap.ListOptions{SelectSubscribed: true}); len(subs) != 0 {
		t.Errorf("after UNSUBSCRIBE: %v", keys(subs))
	}
}

func TestSharedReadOnlyGrant(t *testing.T) {
	f := newSharedFixture(t, 3)
	f.grant(t, testUser, store.RightRead)
	c := f.client(t, nil)
	fillInbox(t, c, 1)

	data := selectBox(t, c, sharedInbox, false)
	if data.NumMessages != 3 || len(data.PermanentFlags) != 0 {
		t.Fatalf("SELECT of a read-only shared mailbox: %d messages, PERMANENTFLAGS %v", data.NumMessages, data.PermanentFlags)
	}
	// FETCH works and, the mailbox being read-only, BODY[] does not set \Seen.
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{{}}})
	if body := m.FindBodySection(&imap.FetchItemBodySection{}); !bytes.Contains(body, []byte("Công văn đến số 1.")) {
		t.Errorf("BODY[]: %q", body)
	}
	if flags := f.sharedInboxFlags(t, 1); slices.Contains(flags, string(imap.FlagSeen)) {
		t.Errorf("FETCH BODY[] set \\Seen through a read-only grant: %v", flags)
	}
	res, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"cong van den so 2"}}, nil).Wait()
	if err != nil || !slices.Equal(res.AllUIDs(), []imap.UID{2}) {
		t.Errorf("SEARCH BODY in the shared INBOX: %v %v", res, err)
	}

	_, err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	wantCode(t, err, imap.ResponseCodeNoPerm)
	wantCode(t, c.Expunge().Close(), imap.ResponseCodeNoPerm)
	_, err = c.Move(imap.SeqSetNum(1), "Archive").Wait()
	wantCode(t, err, imap.ResponseCodeNoPerm)
	if _, err := c.Copy(imap.SeqSetNum(1, 2), "Archive").Wait(); err != nil {
		t.Errorf("COPY out of a read-only shared mailbox: %v", err)
	}
	wantCode(t, appendErr(c, sharedInbox), imap.ResponseCodeNoPerm)
	wantCode(t, appendErr(c, sharedSent), imap.ResponseCodeNoPerm)
	wantCode(t, appendErr(c, sharedInbox+"/Không có"), imap.ResponseCodeNoPerm)
	wantCode(t, c.Create(sharedInbox+"/Mới", nil).Wait(), imap.ResponseCodeNoPerm)
	wantCode(t, c.Delete(sharedSent).Wait(), imap.ResponseCodeNoPerm)
	wantCode(t, c.Rename(sharedSent, sharedInbox+"/Gửi", nil).Wait(), imap.ResponseCodeNoPerm)

	// CLOSE of a read-only shared mailbox succeeds and removes nothing.
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Errorf("CLOSE: %v", err)
	}
	selectBox(t, c, "INBOX", false)
	_, err = c.Copy(imap.SeqSetNum(1), sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeNoPerm)
	if st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 2 {
		t.Errorf("personal Archive after COPY from the shared mailbox: %+v %v", st, err)
	}
	if st, err := c.Status(sharedInbox, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 3 {
		t.Errorf("shared INBOX after the refusals: %+v %v", st, err)
	}
	if audit, _ := f.st.AuditLog(store.AuditFilter{}); len(audit) != 0 {
		t.Errorf("read-only use left audit records: %+v", audit)
	}
}

// TestSharedReadOnlySelectDialog shows what a read-only shared SELECT says on the wire: [READ-ONLY] in the tagged
// OK (RFC 9051 6.3.2) and PERMANENTFLAGS (), as EXAMINE does.
func TestSharedReadOnlySelectDialog(t *testing.T) {
	f := newSharedFixture(t, 1)
	f.grant(t, testUser, store.RightRead)
	rc := dialRaw(t, f.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	lines, status := rc.cmd("SELECT %s", sharedInbox)
	if !containsLine(lines, "[PERMANENTFLAGS ()]") || !containsLine(lines, "1 EXISTS") {
		t.Errorf("SELECT: %q", lines)
	}
	if status != "OK [READ-ONLY] SELECT completed" {
		t.Errorf("SELECT of a read-only shared mailbox: %s", status)
	}
	if _, status := rc.cmd("SELECT INBOX"); !strings.HasPrefix(status, "OK [READ-WRITE]") {
		t.Errorf("SELECT of an own mailbox: %s", status)
	}
	rc.ok("SELECT %s", sharedInbox)
	_, status = rc.cmd("STORE 1 +FLAGS (\\Seen)")
	if !strings.HasPrefix(status, "NO [NOPERM]") {
		t.Errorf("STORE: %s", status)
	}
	_, status = rc.cmd("EXAMINE %s", sharedInbox)
	if !strings.HasPrefix(status, "OK [READ-ONLY]") {
		t.Errorf("EXAMINE: %s", status)
	}
	// Names on the wire are the shared namespace's: STATUS, and the LIST that IMAP4rev2 adds to SELECT.
	if lines := rc.ok("STATUS %s (MESSAGES)", sharedSent); !containsLine(lines, `* STATUS "`+sharedSent+`" (MESSAGES 0)`) {
		t.Errorf("STATUS: %q", lines)
	}
	rc.ok("ENABLE IMAP4rev2")
	if lines := rc.ok("SELECT %s", sharedInbox); !containsLine(lines, `* LIST () "/" "`+sharedInbox+`"`) {
		t.Errorf("SELECT after ENABLE IMAP4rev2: %q", lines)
	}
}

func TestSharedInvisibleWithoutGrant(t *testing.T) {
	f := newSharedFixture(t, 2)
	f.grant(t, memberUser, store.RightSend) // send-as only: no IMAP access
	for _, who := range [][2]string{{outsiderUser, outsiderPass}, {memberUser, memberPass}} {
		c := f.clientAs(t, who[0], who[1], nil)
		for name := range listAll(t, c, "", "*", nil) {
			if strings.HasPrefix(name, "Shared") {
				t.Errorf("%s sees %s", who[0], name)
			}
		}
		// Exactly the answers for a mailbox that does not exist.
		for _, probe := range []func(*imapclient.Client, string) error{selectErr, statusErr,
			func(c *imapclient.Client, name string) error {
				_, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
				return err
			},
			func(c *imapclient.Client, name string) error { return c.Delete(name).Wait() },
			func(c *imapclient.Client, name string) error { return c.Subscribe(name).Wait() },
			appendErr,
		} {
			got, missing := probe(c, sharedSent), probe(c, unknownShared+"/Sent")
			if responseCode(got) != imap.ResponseCodeNonExistent || got.Error() != missing.Error() {
				t.Errorf("%s: %v, for an unknown address %v", who[0], got, missing)
			}
		}
		got, missing := c.Create(sharedInbox+"/Mới", nil).Wait(), c.Create(unknownShared+"/Mới", nil).Wait()
		if responseCode(got) != imap.ResponseCodeNoPerm || got.Error() != missing.Error() {
			t.Errorf("%s: CREATE %v, for an unknown address %v", who[0], got, missing)
		}
		selectBox(t, c, "INBOX", false)
		_, got = c.Copy(imap.SeqSetNum(1), sharedInbox).Wait()
		_, missing = c.Copy(imap.SeqSetNum(1), unknownShared).Wait()
		if got == nil || got.Error() != missing.Error() {
			t.Errorf("%s: COPY %v, for an unknown address %v", who[0], got, missing)
		}
	}
}

func TestSharedWriteGrantWithAudit(t *testing.T) {
	f := newSharedFixture(t, 5)
	f.grant(t, testUser, store.RightRead|store.RightWrite)
	c := f.client(t, nil)

	data := selectBox(t, c, sharedInbox, false)
	if len(data.PermanentFlags) == 0 {
		t.Error("SELECT with write rights has no PERMANENTFLAGS")
	}
	storeFlags(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagFlagged)
	fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}})
	if flags := f.sharedInboxFlags(t, 1); !slices.Contains(flags, string(imap.FlagFlagged)) || !slices.Contains(flags, string(imap.FlagSeen)) {
		t.Errorf("flags after STORE and FETCH BODY[]: %v", flags)
	}

	moved, err := c.Move(imap.UIDSetNum(2, 3), "Archive").Wait()
	if err != nil || moved.DestUIDs.String() != "1:2" {
		t.Fatalf("MOVE out of the shared INBOX: %+v %v", moved, err)
	}
	storeFlags(t, c, imap.UIDSetNum(4), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatalf("EXPUNGE: %v", err)
	}
	if c.Mailbox().NumMessages != 2 {
		t.Errorf("client sees %d messages, want 2", c.Mailbox().NumMessages)
	}

	appendMsg(t, c, sharedSent, []byte("Subject: trả lời\r\n\r\nđã nhận\r\n"), nil)
	if err := c.Create(sharedInbox+"/Lưu trữ 2026", nil).Wait(); err != nil {
		t.Fatalf("CREATE in the shared mailbox: %v", err)
	}
	if err := c.Rename(sharedInbox+"/Lưu trữ 2026", sharedInbox+"/Lưu trữ", nil).Wait(); err != nil {
		t.Fatalf("RENAME in the shared mailbox: %v", err)
	}
	if _, err := c.Copy(imap.SeqSetNum(1), sharedInbox+"/Lưu trữ").Wait(); err != nil {
		t.Fatalf("COPY into a shared folder: %v", err)
	}
	if _, err := f.st.Mailbox(f.shared.ID, "Lưu trữ"); err != nil {
		t.Fatalf("the folder was not made in the shared account: %v", err)
	}
	if err := c.Delete(sharedInbox + "/Lưu trữ").Wait(); err != nil {
		t.Fatalf("DELETE in the shared mailbox: %v", err)
	}
	_, err = c.Copy(imap.SeqSetNum(1), sharedInbox+"/Không có").Wait()
	wantCode(t, err, imap.ResponseCodeTryCreate) // a write grant could create it

	// The shared INBOX and the namespace levels stay.
	wantCode(t, c.Delete(sharedInbox).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Rename(sharedInbox, sharedInbox+"/Cũ", nil).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Delete("Shared").Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Rename(sharedSent, "Gửi đi của văn thư", nil).Wait(), imap.ResponseCodeCannot)
	wantCode(t, c.Rename("Archive", sharedInbox+"/Của tôi", nil).Wait(), imap.ResponseCodeCannot)

	// Personal changes are not audited.
	selectBox(t, c, "Archive", false)
	storeFlags(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}

	records, err := f.st.AuditLog(store.AuditFilter{Mailbox: sharedAddr})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AuditRecord{
		{Action: "shared.move", Target: sharedAddr + "/INBOX", Detail: "2 messages (UIDs 2:3) to " + testUser + "/Archive"},
		{Action: "shared.expunge", Target: sharedAddr + "/INBOX", Detail: "1 message (UIDs 4)"},
		{Action: "shared.rename", Target: sharedAddr + "/Lưu trữ 2026", Detail: "renamed to Lưu trữ"},
		{Action: "shared.delete", Target: sharedAddr + "/Lưu trữ", Detail: "mailbox deleted with 1 message"},
	}
	if len(records) != len(want) {
		t.Fatalf("audit records: %+v", records)
	}
	for i, r := range records {
		w := want[i]
		if r.Actor != testUser || r.From != "127.0.0.1" || r.Time.IsZero() ||
			r.Action != w.Action || r.Target != w.Target || r.Detail != w.Detail {
			t.Errorf("audit record %d: %+v, want %+v", i, r, w)
		}
	}
	if all, _ := f.st.AuditLog(store.AuditFilter{}); len(all) != len(want) {
		t.Errorf("%d audit records in all, want %d", len(all), len(want))
	}
}

func TestSharedCloseExpungesAndAudits(t *testing.T) {
	f := newSharedFixture(t, 3)
	f.grant(t, testUser, store.RightRead|store.RightWrite)
	c := f.client(t, nil)
	selectBox(t, c, sharedInbox, false)
	storeFlags(t, c, imap.SeqSetNum(1, 3), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	records, err := f.st.AuditLog(store.AuditFilter{Account: testUser})
	if err != nil || len(records) != 1 || records[0].Action != "shared.expunge" || records[0].Detail != "2 messages (UIDs 1,3)" {
		t.Errorf("audit after CLOSE: %+v %v", records, err)
	}
}

func TestSharedQuotaCountsAgainstSharedAccount(t *testing.T) {
	f := newSharedFixture(t, 1)
	f.grant(t, testUser, store.RightRead|store.RightWrite)
	shared, err := f.st.Account(sharedAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UpdateAccount(sharedAddr, func(a *store.Account) error { a.Quota = shared.Used + 10; return nil }); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, nil)
	wantCode(t, appendErr(c, sharedInbox), imap.ResponseCodeOverQuota)
	fillInbox(t, c, 1) // the member's own quota is untouched
	selectBox(t, c, "INBOX", false)
	_, err = c.Copy(imap.SeqSetNum(1), sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeOverQuota)
	if me, _ := f.st.Account(testUser); me.Used == 0 {
		t.Error("own usage not counted")
	}
	if after, _ := f.st.Account(sharedAddr); after.Used != shared.Used {
		t.Errorf("shared usage %d after refusals, was %d", after.Used, shared.Used)
	}
}

// TestSharedLiveAcrossMembers: two members' sessions on the shared INBOX see each other's flag changes, appends and
// expunges, and a delivery, live.
func TestSharedLiveAcrossMembers(t *testing.T) {
	f := newSharedFixture(t, 3)
	f.grant(t, testUser, store.RightRead|store.RightWrite)
	f.grant(t, memberUser, store.RightRead|store.RightWrite)
	ua, ub := newUpdates(), newUpdates()
	a := f.client(t, ua.handler())
	b := f.clientAs(t, memberUser, memberPass, ub.handler())
	selectBox(t, a, sharedInbox, false)
	selectBox(t, b, sharedInbox, false)

	storeFlags(t, a, imap.SeqSetNum(2), imap.StoreFlagsAdd, true, "$DaXuLy")
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ub.waitFor(t, "B sees A's flag change", func(u *updates) bool { return slices.Contains(u.flags[2], "$DaXuLy") })

	idle, err := a.Idle()
	if err != nil {
		t.Fatal(err)
	}
	appendMsg(t, b, sharedInbox, []byte("Subject: dự thảo\r\n\r\ndự thảo báo cáo\r\n"), nil)
	ua.waitFor(t, "A sees B's append during IDLE", func(u *updates) bool { return slices.Contains(u.exists, 4) })
	f.deliver(t, "Subject: công văn mới\r\n\r\nđến qua SMTP\r\n")
	ua.waitFor(t, "A sees the delivery during IDLE", func(u *updates) bool { return slices.Contains(u.exists, 5) })
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}

	storeFlags(t, b, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := b.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ua.waitFor(t, "A sees B's expunge", func(u *updates) bool { return slices.Equal(u.expunges, []uint32{1}) })
	msgs, err := a.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 4 || msgs[0].UID != 2 || msgs[3].UID != 5 {
		t.Fatalf("A after the expunge: %v %v", msgs, err)
	}
	records, _ := f.st.AuditLog(store.AuditFilter{Account: memberUser})
	if len(records) != 1 || records[0].Action != "shared.expunge" {
		t.Errorf("B's audit records: %+v", records)
	}
}

func TestSharedRevokeEndsTheSelectingSession(t *testing.T) {
	f := newSharedFixture(t, 2)
	f.grant(t, testUser, store.RightRead|store.RightWrite)
	c := f.client(t, nil)
	selectBox(t, c, sharedInbox, false)
	storeFlags(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagFlagged)
	other := f.client(t, nil) // the same user, in its own INBOX
	selectBox(t, other, "INBOX", false)

	// Down to read (a revoke, then a read grant): the session that had the shared mailbox open is ended at once,
	// so that it cannot go on writing, or receiving updates in IDLE; the user's other session is untouched.
	f.regrant(t, testUser, store.RightRead)
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the session with the revoked shared mailbox selected is still open")
	}
	if err := other.Noop().Wait(); err != nil {
		t.Errorf("the user's other session: %v", err)
	}
	c = f.client(t, nil)
	selectBox(t, c, sharedInbox, false)
	_, err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	wantCode(t, err, imap.ResponseCodeNoPerm)
	fetchOne(t, c, imap.SeqSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}})
	if flags := f.sharedInboxFlags(t, 2); slices.Contains(flags, string(imap.FlagSeen)) {
		t.Errorf("FETCH with read rights set \\Seen: %v", flags)
	}

	// Revoked: invisible, as for a mailbox that does not exist.
	f.regrant(t, testUser, 0)
	c = f.client(t, nil)
	wantCode(t, selectErr(c, sharedInbox), imap.ResponseCodeNonExistent)
	wantCode(t, statusErr(c, sharedInbox), imap.ResponseCodeNonExistent)
	if all := listAll(t, c, "", "*", nil); all["Shared"] != nil || all[sharedInbox] != nil {
		t.Errorf("LIST after the revoke: %v", keys(all))
	}

	// Granted again: visible again, without logging in again.
	f.grant(t, testUser, store.RightRead)
	if data := selectBox(t, c, sharedInbox, true); data.NumMessages != 2 {
		t.Errorf("EXAMINE after the new grant: %d messages", data.NumMessages)
	}
}
