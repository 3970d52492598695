package mailauth

import (
	"strings"
	"testing"
)

// b.gov.vn is served here; a.gov.vn is a partner with a DMARC reject policy (world).
func servedHereB(d string) bool { return d == "b.gov.vn" }

func TestPolicyJudge(t *testing.T) {
	f := world(t)
	f.txt["_dmarc.q.gov.vn"] = []string{"v=DMARC1; p=quarantine"}
	forged := plainMsg(`"an@b.gov.vn" <giamdoc@elsewhere.example>`)
	for _, tc := range []struct {
		name        string
		policy      Policy
		mailFrom    string
		ip          bool // from a.gov.vn's server
		msg         []byte
		action      Action
		reason      string // in the reason
		warning     bool   // a display-name warning in the trace
		sender      bool
		withResults bool // Authentication-Results in the trace
	}{
		{name: "partner passes", mailFrom: "vanthu@a.gov.vn", ip: true, msg: plainMsg(vanthu),
			action: Accept, sender: true, withResults: true},
		{name: "DMARC reject", mailFrom: "x@elsewhere.example", msg: plainMsg("vanthu@a.gov.vn"),
			action: Reject, reason: "the DMARC policy of a.gov.vn refuses mail", withResults: true},
		{name: "DMARC reject quarantined", policy: Policy{QuarantineRejects: true}, mailFrom: "x@elsewhere.example",
			msg: plainMsg("vanthu@a.gov.vn"), action: Quarantine, reason: "DMARC of a.gov.vn failed, policy reject", withResults: true},
		{name: "DMARC quarantine", mailFrom: "x@elsewhere.example", msg: plainMsg("x@q.gov.vn"),
			action: Quarantine, reason: "policy quarantine", withResults: true},
		{name: "display name into Junk", policy: Policy{DisplayNameSpoof: Quarantine}, mailFrom: "giamdoc@elsewhere.example",
			msg: forged, action: Quarantine, reason: "From display name shows an@b.gov.vn", warning: true, withResults: true},
		{name: "display name refused", policy: Policy{DisplayNameSpoof: Reject}, mailFrom: "giamdoc@elsewhere.example",
			msg: forged, action: Reject, reason: "message rejected: the From display name shows an@b.gov.vn", warning: true,
			withResults: true},
		{name: "display name rule off", mailFrom: "giamdoc@elsewhere.example", msg: forged, action: Accept, withResults: true},
		{name: "subdomain of ours in a Sender name", policy: Policy{DisplayNameSpoof: Quarantine}, mailFrom: "x@elsewhere.example",
			msg:    crlf("From: x@elsewhere.example\nSender: \"vp@vanphong.b.gov.vn\" <x@elsewhere.example>\n\nbody\n"),
			action: Quarantine, reason: "Sender display name shows vp@vanphong.b.gov.vn", warning: true, withResults: true},
		{name: "stricter DMARC wins", policy: Policy{DisplayNameSpoof: Quarantine}, mailFrom: "x@elsewhere.example",
			msg: plainMsg(`"an@b.gov.vn" <vanthu@a.gov.vn>`), action: Reject, reason: "DMARC policy of a.gov.vn",
			warning: true, withResults: true},
		{name: "stricter display-name rule wins", policy: Policy{DisplayNameSpoof: Reject}, mailFrom: "x@elsewhere.example",
			msg: plainMsg(`"an@b.gov.vn" <x@q.gov.vn>`), action: Reject, reason: "display name shows an@b.gov.vn",
			warning: true, withResults: true},
		{name: "a partner's address in the name", policy: Policy{DisplayNameSpoof: Reject}, mailFrom: "vanthu@a.gov.vn", ip: true,
			msg: plainMsg(`"vanthu@a.gov.vn" <vanthu@a.gov.vn>`), action: Accept, sender: true, withResults: true},
		{name: "our own mailbox is DMARC's business", policy: Policy{DisplayNameSpoof: Reject}, mailFrom: "x@elsewhere.example",
			msg: plainMsg(`"binh@b.gov.vn" <an@b.gov.vn>`), action: Reject, reason: "DMARC policy of b.gov.vn", withResults: true},
		{name: "without a verifier", policy: Policy{DisplayNameSpoof: Quarantine, Verifier: noVerifier}, mailFrom: "x@elsewhere.example",
			msg: forged, action: Quarantine, reason: "From display name shows an@b.gov.vn", warning: true, sender: true},
	} {
		p := tc.policy
		p.Local = servedHereB
		switch p.Verifier {
		case nil:
			p.Verifier = verifier(f)
			p.Verifier.Protected = servedHereB
		case noVerifier:
			p.Verifier = nil
		}
		ip := badIP
		if tc.ip {
			ip = goodIP
		}
		v := p.Judge(t.Context(), Inbound{IP: ip, Helo: "mx.elsewhere.example", MailFrom: tc.mailFrom, Message: tc.msg})
		if v.Action != tc.action || !strings.Contains(v.Reason, tc.reason) || (tc.reason == "") != (v.Reason == "") {
			t.Errorf("%s: %v %q, want %v with a reason containing %q", tc.name, v.Action, v.Reason, tc.action, tc.reason)
		}
		if got := strings.Contains(v.Trace, "X-Display-Name-Warning: "); got != tc.warning {
			t.Errorf("%s: warning in the trace %v, want %v:\n%s", tc.name, got, tc.warning, v.Trace)
		}
		if got := strings.HasPrefix(v.Trace, "Authentication-Results: mail.b.gov.vn;"); got != tc.withResults {
			t.Errorf("%s: Authentication-Results in the trace %v, want %v:\n%s", tc.name, got, tc.withResults, v.Trace)
		}
		if v.SenderAuthenticated != tc.sender {
			t.Errorf("%s: SenderAuthenticated %v, want %v", tc.name, v.SenderAuthenticated, tc.sender)
		}
	}
}

// noVerifier marks a test case whose Policy has no Verifier.
var noVerifier = &Verifier{}

// A message naming more domains than are looked up is taken for a forgery rather than have an address of ours
// hide behind the others; the lookups stop at the bound.
func TestDisplayNameSpoofBounded(t *testing.T) {
	var names []string
	for i := range 3 * maxShownDomains {
		names = append(names, `"x@d`+strings.Repeat("x", i)+`.example" <x@e`+strings.Repeat("x", i)+`.example>`)
	}
	asked := 0
	local := func(d string) bool { asked++; return servedHereB(d) }
	spoof, found := findDisplayNameSpoof(plainMsg(strings.Join(names, ", ")), local)
	if !found || !strings.Contains(spoof.shown, "more than") {
		t.Errorf("findDisplayNameSpoof = %+v, %v; want a forgery for too many domains", spoof, found)
	}
	if asked > 2*maxShownDomains { // a domain and its organisation
		t.Errorf("%d lookups, want at most %d", asked, 2*maxShownDomains)
	}
}
