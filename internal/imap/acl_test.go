package imap

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
	"mailserver/internal/store"
)

// TestACLOwnMailbox: the owner has every right on its own mailboxes, reads their ACL (only itself on it) and
// LISTRIGHTS; SETACL and DELETEACL are refused with the command that grants.
func TestACLOwnMailbox(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	caps := capsOf(t, c)
	for _, want := range []imap.Cap{imap.CapACL, "RIGHTS=TEXK"} { // imapclient upper-cases capabilities
		if !caps.Has(want) {
			t.Errorf("capabilities lack %s", want)
		}
	}
	rights, err := c.MyRights("Sent").Wait()
	if err != nil || !rights.Rights.Equal(imap.RightSet("lrswipkxtecda")) {
		t.Errorf("MYRIGHTS Sent: %+v %v", rights, err)
	}
	acl, err := c.GetACL("INBOX").Wait()
	if err != nil || len(acl.Rights) != 1 || !acl.Rights[testUser].Equal(imap.RightSet("lrswipkxtecda")) {
		t.Errorf("GETACL INBOX: %+v %v", acl, err)
	}
	_, err = c.MyRights("Không có").Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	for _, refused := range []error{
		c.SetACL("INBOX", memberUser, imap.RightModificationAdd, imap.RightSet("lr")).Wait(),
		rawDeleteACL(t, ts, "INBOX", memberUser),
	} {
		wantCode(t, refused, imap.ResponseCodeNoPerm)
		if refused == nil || !strings.Contains(refused.Error(), "mailserver share grant") {
			t.Errorf("SETACL/DELETEACL: %v, want the command that grants named", refused)
		}
	}

	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	lines := rc.ok("LISTRIGHTS INBOX %s", testUser)
	if !containsLine(lines, `* LISTRIGHTS INBOX "`+testUser+`" lrswipkxtecda`) {
		t.Errorf("LISTRIGHTS for the owner: %q", lines)
	}
	lines = rc.ok("LISTRIGHTS INBOX %s", memberUser)
	if !containsLine(lines, `* LISTRIGHTS INBOX "`+memberUser+`" ""`) {
		t.Errorf("LISTRIGHTS for someone else: %q", lines)
	}
}

// rawDeleteACL sends DELETEACL, which imapclient lacks, and returns its tagged NO as an error.
func rawDeleteACL(t *testing.T, ts *testServer, mailbox, identifier string) error {
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	_, status := rc.cmd("DELETEACL %s %s", mailbox, identifier)
	if !strings.HasPrefix(status, "NO [NOPERM]") {
		t.Errorf("DELETEACL: %s", status)
		return nil
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: status}
}

// TestACLSharedMailbox: a grantee's MYRIGHTS follow its grant (read: lr, so the client greys out flags and
// deletion; write: everything but administration, and no deleting or renaming the shared INBOX itself), and it may
// not read the ACL; without a grant the mailbox does not exist.
func TestACLSharedMailbox(t *testing.T) {
	f := newSharedFixture(t, 1)
	c := f.client(t, nil)
	_, err := c.MyRights(sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeNonExistent)

	f.grant(t, testUser, store.RightRead)
	if rights, err := c.MyRights(sharedInbox).Wait(); err != nil || string(rights.Rights) != "lr" {
		t.Errorf("MYRIGHTS with a read grant: %+v %v", rights, err)
	}
	_, err = c.GetACL(sharedInbox).Wait()
	wantCode(t, err, imap.ResponseCodeNoPerm)

	f.regrant(t, testUser, store.RightRead|store.RightWrite)
	if rights, err := c.MyRights(sharedInbox).Wait(); err != nil || string(rights.Rights) != "lrswipktecd" {
		t.Errorf("MYRIGHTS on the shared INBOX with a write grant: %+v %v", rights, err)
	}
	if rights, err := c.MyRights(sharedSent).Wait(); err != nil || string(rights.Rights) != "lrswipkxtecd" {
		t.Errorf("MYRIGHTS on a shared folder with a write grant: %+v %v", rights, err)
	}
	rc := dialRaw(t, f.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	if _, status := rc.cmd("LISTRIGHTS %q %s", sharedInbox, testUser); !strings.HasPrefix(status, "NO [NOPERM]") {
		t.Errorf("LISTRIGHTS on a shared mailbox: %s", status)
	}
}

// QUOTA and ACL commands are counted in the metrics under their names, not as "other".
func TestQuotaAndACLCommandsCounted(t *testing.T) {
	m := metrics.New(nil)
	ts := newTestServer(t, func(c *testConfig) { c.opts.Metrics = m })
	c := ts.client(t, nil)
	if _, err := c.GetQuotaRoot("INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MyRights("INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	s := metricstest.Gather(t, m)
	for command, want := range map[string]float64{"GETQUOTAROOT": 1, "MYRIGHTS": 1, "other": 0} {
		s.Want(t, want, "mailserver_imap_command_duration_seconds_count", "command", command)
	}
}
