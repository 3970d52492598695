package mailauth

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailserver/internal/message"
)

var (
	goodIP = net.ParseIP("192.0.2.10")   // a.gov.vn's outbound server
	badIP  = net.ParseIP("198.51.100.7") // anyone else
)

func verifier(f *fakeDNS) *Verifier { return &Verifier{Resolver: f, AuthServID: "mail.b.gov.vn"} }

func TestSignVerify(t *testing.T) {
	f := world(t)
	msg := signed(t, vietnameseMessage(vanthu), "a.gov.vn", keys(t)...)
	res := verifier(f).Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})

	want := "Authentication-Results: mail.b.gov.vn;\r\n" +
		"\tspf=pass smtp.mailfrom=a.gov.vn;\r\n" +
		"\tdkim=pass header.d=a.gov.vn header.s=rsa-202611;\r\n" +
		"\tdkim=pass header.d=a.gov.vn header.s=ed-202611;\r\n" +
		"\tdmarc=pass header.from=a.gov.vn\r\n"
	if got := res.Header(); got != want {
		t.Errorf("Header:\n%q\nwant\n%q", got, want)
	}
	if res.Action != Accept || res.DMARC.Policy != "reject" {
		t.Errorf("Action %v, policy %q", res.Action, res.DMARC.Policy)
	}
}

func TestAlteredBody(t *testing.T) {
	f := world(t)
	msg := signed(t, vietnameseMessage(vanthu), "a.gov.vn", keys(t)...)
	msg = bytes.Replace(msg, []byte("năm 2026"), []byte("năm 2027"), 1)
	res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "evil.example", MailFrom: "vanthu@a.gov.vn", Message: msg})

	if len(res.DKIM) != 2 {
		t.Fatalf("DKIM results %+v", res.DKIM)
	}
	for _, d := range res.DKIM {
		if d.Result != "fail" || d.Reason != "body hash did not verify" {
			t.Errorf("DKIM %+v, want fail: body hash", d)
		}
	}
	if res.SPF.Result != "fail" || res.DMARC.Result != "fail" || res.Action != Reject {
		t.Errorf("SPF %q, DMARC %q, Action %v; want fail, fail, reject", res.SPF.Result, res.DMARC.Result, res.Action)
	}
	if h := res.Header(); !strings.Contains(h, "\tdkim=fail (body hash did not verify) header.d=a.gov.vn\r\n\theader.s=rsa-202611;") {
		t.Errorf("Header:\n%s", h)
	}
}

// A From added after signing (above or below the signed one) breaks the signature, because From is oversigned.
func TestAddedFrom(t *testing.T) {
	f := world(t)
	orig := signed(t, vietnameseMessage(vanthu), "a.gov.vn", keys(t)[1])
	from := []byte("\r\nFrom: " + vanthu + "\r\n")
	for name, msg := range map[string][]byte{
		"above": append([]byte("From: giamdoc@a.gov.vn\r\n"), orig...),
		"below": bytes.Replace(orig, from, append(from, "From: giamdoc@a.gov.vn\r\n"...), 1),
	} {
		res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "x.example", MailFrom: "x@x.example", Message: msg})
		if len(res.DKIM) != 1 || res.DKIM[0].Result != "fail" || res.Action != Reject {
			t.Errorf("%s: DKIM %+v, Action %v", name, res.DKIM, res.Action)
		}
	}
}

func TestDMARC(t *testing.T) {
	plain := func(from string) []byte {
		return crlf("From: " + from + "\nSubject: =?UTF-8?B?VGjDtG5nIGLDoW8=?=\nDate: Tue, 03 Nov 2026 08:00:00 +0700\n\nNội dung.\n")
	}
	for _, tc := range []struct {
		name     string
		records  map[string]string // added to the world
		fail     string            // name whose lookup fails with SERVFAIL
		mailFrom string
		ip       net.IP
		msg      []byte
		sign     bool // with a.gov.vn's Ed25519 key
		result   string
		domain   string
		policy   string
		action   Action
	}{
		{name: "SPF aligned", mailFrom: "vanthu@a.gov.vn", ip: goodIP, msg: plain(vanthu),
			result: "pass", domain: "a.gov.vn", policy: "reject", action: Accept},
		{name: "DKIM aligned, SPF fails", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu), sign: true,
			result: "pass", domain: "a.gov.vn", policy: "reject", action: Accept},
		{name: "DKIM aligned, forwarded by another domain", mailFrom: "fwd@c.gov.vn", ip: badIP, msg: plain(vanthu), sign: true,
			result: "pass", domain: "a.gov.vn", policy: "reject", action: Accept},
		{name: "SPF fails, no DKIM, p=reject", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "SPF passes for another domain", records: map[string]string{"evil.example": "v=spf1 +all"},
			mailFrom: "x@evil.example", ip: badIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "p=quarantine", records: map[string]string{"_dmarc.a.gov.vn": "v=DMARC1; p=quarantine; pct=10"},
			mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "quarantine", action: Quarantine},
		{name: "p=none", records: map[string]string{"_dmarc.a.gov.vn": "v=DMARC1; p=none"},
			mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "none", action: Accept},
		{name: "subdomain takes sp= of the organisation's record",
			records:  map[string]string{"_dmarc.hanoi.gov.vn": "v=DMARC1; p=none; sp=reject"},
			mailFrom: "x@vanphong.hanoi.gov.vn", ip: badIP, msg: plain("x@VanPhong.HaNoi.gov.vn"),
			result: "fail", domain: "vanphong.hanoi.gov.vn", policy: "reject", action: Reject},
		{name: "subdomain takes p= without sp=",
			records:  map[string]string{"_dmarc.hanoi.gov.vn": "v=DMARC1; p=quarantine"},
			mailFrom: "x@vanphong.hanoi.gov.vn", ip: badIP, msg: plain("x@vanphong.hanoi.gov.vn"),
			result: "fail", domain: "vanphong.hanoi.gov.vn", policy: "quarantine", action: Quarantine},
		{name: "organisational domain takes p=, not sp=",
			records:  map[string]string{"_dmarc.hanoi.gov.vn": "v=DMARC1; p=none; sp=reject"},
			mailFrom: "x@hanoi.gov.vn", ip: badIP, msg: plain("x@hanoi.gov.vn"),
			result: "fail", domain: "hanoi.gov.vn", policy: "none", action: Accept},
		{name: "relaxed SPF alignment", records: map[string]string{"bounce.a.gov.vn": "v=spf1 ip4:192.0.2.10 -all"},
			mailFrom: "b@bounce.a.gov.vn", ip: goodIP, msg: plain(vanthu),
			result: "pass", domain: "a.gov.vn", policy: "reject", action: Accept},
		{name: "strict SPF alignment", records: map[string]string{
			"bounce.a.gov.vn": "v=spf1 ip4:192.0.2.10 -all", "_dmarc.a.gov.vn": "v=DMARC1; p=reject; aspf=s"},
			mailFrom: "b@bounce.a.gov.vn", ip: goodIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "strict DKIM alignment", records: map[string]string{"_dmarc.vp.a.gov.vn": "v=DMARC1; p=reject; adkim=s"},
			mailFrom: "x@vp.a.gov.vn", ip: badIP, msg: plain("x@vp.a.gov.vn"), sign: true,
			result: "fail", domain: "vp.a.gov.vn", policy: "reject", action: Reject},
		{name: "no record", mailFrom: "x@c.gov.vn", ip: badIP, msg: plain("x@c.gov.vn"),
			result: "none", domain: "c.gov.vn", action: Accept},
		{name: "temperror", fail: "_dmarc.a.gov.vn", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "temperror", domain: "a.gov.vn", action: Accept},
		{name: "aligned SPF could not be checked", fail: "a.gov.vn", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "temperror", domain: "a.gov.vn", policy: "reject", action: Accept},
		{name: "unaligned SPF could not be checked", fail: "c.gov.vn", mailFrom: "x@c.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "malformed record", records: map[string]string{"_dmarc.a.gov.vn": "v=DMARC1; p=drop"},
			mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain(vanthu),
			result: "permerror", domain: "a.gov.vn", action: Accept},
		{name: "no From", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: crlf("Subject: x\n\nbody\n"),
			result: "permerror", action: Accept},
		{name: "unreadable From still shows its author", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain("<vanthu@a.gov.vn"),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "no address in From", mailFrom: "vanthu@a.gov.vn", ip: badIP, msg: plain("<<< vanthu at a.gov.vn"),
			result: "permerror", action: Accept},
		{name: "unknown charset in display name", mailFrom: "vanthu@a.gov.vn", ip: badIP,
			msg:    plain("=?windows-1258?Q?V=E3n_th=F2?= <vanthu@a.gov.vn>"),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "several From domains: the strictest wins", mailFrom: "x@c.gov.vn", ip: badIP,
			msg:    plain("x@c.gov.vn, " + vanthu + ", y@d.gov.vn"),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "several From fields: the strictest wins", mailFrom: "x@c.gov.vn", ip: badIP,
			msg:    append(crlf("From: x@c.gov.vn\n"), plain(vanthu)...),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "an unreadable From does not hide another", mailFrom: "x@c.gov.vn", ip: badIP,
			msg:    append(crlf("From: <<<\n"), plain(vanthu)...),
			result: "fail", domain: "a.gov.vn", policy: "reject", action: Reject},
		{name: "too many From domains", mailFrom: "x@c.gov.vn", ip: badIP,
			msg:    plain("a@d1.vn, a@d2.vn, a@d3.vn, a@d4.vn, a@d5.vn, a@d6.vn, a@d7.vn, a@d8.vn, a@d9.vn, a@d10.vn, " + vanthu),
			result: "permerror", action: Reject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := world(t)
			for name, rec := range tc.records {
				f.txt[name] = []string{rec}
			}
			if tc.fail != "" {
				f.fail = map[string]error{tc.fail: errors.New("SERVFAIL")}
			}
			msg := tc.msg
			if tc.sign {
				msg = signed(t, msg, "a.gov.vn", keys(t)[1])
			}
			res := verifier(f).Verify(t.Context(), Inbound{IP: tc.ip, Helo: "mx.example", MailFrom: tc.mailFrom, Message: msg})
			d := res.DMARC
			if d.Result != tc.result || d.Domain != tc.domain || d.Policy != tc.policy || res.Action != tc.action {
				t.Errorf("DMARC %+v, Action %v; want %s for %q, policy %q, %v", d, res.Action, tc.result, tc.domain, tc.policy, tc.action)
			}
			if h := res.Header(); !strings.Contains(h, "\tdmarc="+tc.result) {
				t.Errorf("Header:\n%s", h)
			}
			if n := f.asked("_dmarc.gov.vn"); n != 0 {
				t.Errorf("looked up the DMARC record of the public suffix gov.vn")
			}
		})
	}
}

func TestSPF(t *testing.T) {
	for _, tc := range []struct {
		name               string
		mailFrom, helo     string
		ip                 net.IP
		fail               string
		result, domain, in string // in: what the header says
	}{
		{"pass", "vanthu@a.gov.vn", "mail.a.gov.vn", goodIP, "", "pass", "a.gov.vn", "spf=pass smtp.mailfrom=a.gov.vn"},
		{"fail", "vanthu@a.gov.vn", "mail.a.gov.vn", badIP, "", "fail", "a.gov.vn", "spf=fail smtp.mailfrom=a.gov.vn"},
		{"no record", "x@c.gov.vn", "mail.c.gov.vn", badIP, "", "none", "c.gov.vn", "spf=none smtp.mailfrom=c.gov.vn"},
		{"null sender checks HELO", "", "mail.a.gov.vn", goodIP, "", "pass", "mail.a.gov.vn", "spf=pass smtp.helo=mail.a.gov.vn"},
		{"null sender from elsewhere", "", "mail.a.gov.vn", badIP, "", "fail", "mail.a.gov.vn", "spf=fail smtp.helo=mail.a.gov.vn"},
		{"null sender with address literal", "", "[192.0.2.10]", goodIP, "", "none", "[192.0.2.10]", "spf=none smtp.helo=_192.0.2.10_"},
		{"DNS failure", "vanthu@a.gov.vn", "mail.a.gov.vn", goodIP, "a.gov.vn", "temperror", "a.gov.vn", "spf=temperror (lookup a.gov.vn: SERVFAIL) smtp.mailfrom=a.gov.vn"},
		{"upper case, trailing dot", "VanThu@A.Gov.VN.", "mail.a.gov.vn", goodIP, "", "pass", "a.gov.vn", "spf=pass smtp.mailfrom=a.gov.vn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := world(t)
			if tc.fail != "" {
				f.fail = map[string]error{tc.fail: errors.New("SERVFAIL")}
			}
			res := verifier(f).Verify(t.Context(), Inbound{IP: tc.ip, Helo: tc.helo, MailFrom: tc.mailFrom, Message: vietnameseMessage(vanthu)})
			if res.SPF.Result != tc.result || res.SPF.Domain != tc.domain {
				t.Errorf("SPF %+v, want %s for %s", res.SPF, tc.result, tc.domain)
			}
			if h := res.Header(); !strings.Contains(h, "\t"+tc.in+";\r\n") {
				t.Errorf("Header:\n%s\nwant %q", h, tc.in)
			}
			if tc.result == "temperror" && res.Action != Accept {
				t.Errorf("Action %v after a DNS failure", res.Action)
			}
		})
	}
}

func TestUnsigned(t *testing.T) {
	res := verifier(world(t)).Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: vietnameseMessage(vanthu)})
	if res.DKIM != nil || !strings.Contains(res.Header(), "\tdkim=none;\r\n") {
		t.Errorf("DKIM %+v\n%s", res.DKIM, res.Header())
	}
}

// A Resolver that fails (other than "not found") makes every check a temperror, and the message is accepted.
func TestDNSFailure(t *testing.T) {
	f := world(t)
	f.fail = map[string]error{}
	for name := range f.txt {
		f.fail[name] = errors.New("connection refused")
	}
	msg := signed(t, vietnameseMessage(vanthu), "a.gov.vn", keys(t)...)
	res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
	if res.SPF.Result != "temperror" || res.DMARC.Result != "temperror" || res.Action != Accept {
		t.Errorf("%+v", res)
	}
	for _, d := range res.DKIM {
		if d.Result != "temperror" {
			t.Errorf("DKIM %+v", d)
		}
	}
}

// A Resolver that hangs, even ignoring ctx, costs the Timeout and no more.
func TestTimeout(t *testing.T) {
	f := world(t)
	f.block = make(chan struct{})
	defer close(f.block)
	v := verifier(f)
	v.Timeout = 200 * time.Millisecond
	msg := signed(t, vietnameseMessage(vanthu), "a.gov.vn", keys(t)...)
	start := time.Now()
	res := v.Verify(t.Context(), Inbound{IP: badIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Verify took %v", d)
	}
	if res.SPF.Result != "temperror" || res.DMARC.Result != "temperror" || res.Action != Accept || len(res.DKIM) != 2 {
		t.Fatalf("%+v", res)
	}
	for _, d := range res.DKIM {
		if d.Result != "temperror" {
			t.Errorf("DKIM %+v", d)
		}
	}
}

// A message with 20 signatures gets MaxDKIM of them verified, and no more key lookups.
func TestMaxDKIM(t *testing.T) {
	msg := vietnameseMessage(vanthu)
	one := signed(t, msg, "a.gov.vn", keys(t)[1])[:0]
	for range 20 {
		sig, err := Sign(msg, "a.gov.vn", keys(t)[1:])
		if err != nil {
			t.Fatal(err)
		}
		one = append(one, sig...)
	}
	msg = append(one, msg...)
	for _, tc := range []struct{ max, want int }{{0, defaultMaxDKIM}, {3, 3}, {1, 1}} {
		f := world(t)
		v := verifier(f)
		v.MaxDKIM = tc.max
		res := v.Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
		if len(res.DKIM) != tc.want || f.asked("._domainkey.") != tc.want {
			t.Errorf("MaxDKIM %d: %d results, %d key lookups; want %d", tc.max, len(res.DKIM), f.asked("._domainkey."), tc.want)
		}
		for _, d := range res.DKIM {
			if d.Result != "pass" {
				t.Errorf("MaxDKIM %d: %+v", tc.max, d)
			}
		}
	}
}

// A hostile selector cannot turn a DKIM fail into a temperror, which would be accepted, by naming something a
// resolver fails on: a name that cannot exist is not asked about.
func TestHostileSelector(t *testing.T) {
	f := world(t)
	f.fail = map[string]error{"a!b._domainkey.a.gov.vn": errors.New("SERVFAIL")}
	msg := crlf("DKIM-Signature: v=1; a=ed25519-sha256; d=a.gov.vn; s=a!b; h=from; bh=AAAA; b=AAAA\nFrom: " + vanthu + "\n\nx\n")
	res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "x.example", MailFrom: "x@x.example", Message: msg})
	if len(res.DKIM) != 1 || res.DKIM[0].Result != "permerror" || res.Action != Reject || f.asked("a!b") != 0 {
		t.Errorf("%+v; asked %v", res, f.queries)
	}
}

// A message whose header never ends cannot be DKIM-verified, but that is a result, not a failure of Verify.
func TestUnreadableSignedMessage(t *testing.T) {
	msg := crlf("DKIM-Signature: v=1; d=a.gov.vn; s=x\nFrom: vanthu@a.gov.vn\n")
	res := verifier(world(t)).Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
	if len(res.DKIM) != 1 || res.DKIM[0].Result != "permerror" || res.DMARC.Result != "pass" {
		t.Errorf("%+v", res)
	}
}

// A domain served here is held to p=reject even without a DMARC record: forgeries of it are refused, and its
// genuine mail, signed by this server and forwarded back, still passes.
func TestProtectedDomainWithoutRecord(t *testing.T) {
	f := world(t)
	v := verifier(f)
	v.Protected = func(d string) bool { return d == "c.gov.vn" }
	msg := crlf("From: x@c.gov.vn\nSubject: s\n\nbody\n")
	res := v.Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@c.gov.vn", Message: msg})
	if res.DMARC.Result != "fail" || res.DMARC.Policy != "reject" || res.Action != Reject {
		t.Errorf("forged protected domain: %+v, %v; want fail, reject", res.DMARC, res.Action)
	}
	res = v.Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@d.gov.vn",
		Message: crlf("From: x@d.gov.vn\nSubject: s\n\nbody\n")})
	if res.DMARC.Result != "none" || res.Action != Accept {
		t.Errorf("unprotected domain without a record: %+v, %v; want none, accept", res.DMARC, res.Action)
	}
	// a.gov.vn publishes p=reject itself; being protected changes nothing for a message its key signed.
	v.Protected = func(d string) bool { return d == "a.gov.vn" }
	res = v.Verify(t.Context(), Inbound{IP: badIP, Helo: "list.example", MailFrom: "list@c.gov.vn",
		Message: signed(t, crlf("From: "+vanthu+"\nSubject: s\n\nbody\n"), "a.gov.vn", keys(t)[1])})
	if res.DMARC.Result != "pass" || res.Action != Accept {
		t.Errorf("signed mail of a protected domain forwarded back: %+v, %v; want pass", res.DMARC, res.Action)
	}
}

func TestAuthenticates(t *testing.T) {
	f := world(t)
	msg := crlf("From: " + vanthu + "\nSubject: s\n\nbody\n")
	spfPass := verifier(f).Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
	signedOnly := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "x.example", MailFrom: "vanthu@a.gov.vn",
		Message: signed(t, msg, "a.gov.vn", keys(t)[1])})
	neither := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "x.example", MailFrom: "vanthu@a.gov.vn", Message: msg})
	for _, tc := range []struct {
		name   string
		r      Result
		domain string
		want   bool
	}{
		{"SPF pass", spfPass, "a.gov.vn", true},
		{"SPF pass, subdomain of the same organisation", spfPass, "vp.a.gov.vn", true},
		{"SPF pass for another domain", spfPass, "c.gov.vn", false},
		{"DKIM pass", signedOnly, "A.gov.vn.", true},
		{"neither", neither, "a.gov.vn", false},
	} {
		if got := tc.r.Authenticates(tc.domain); got != tc.want {
			t.Errorf("%s: Authenticates(%s) = %v, want %v", tc.name, tc.domain, got, tc.want)
		}
	}
}

// A From field net/mail cannot parse is still shown to the reader with its author (the IMAP ENVELOPE takes what it
// can), so DMARC checks that author: a forger cannot escape p=reject by breaking the field's syntax.
func TestDMARCChecksTheAuthorShown(t *testing.T) {
	for _, tc := range []struct{ name, from, charset string }{
		{"unclosed angle bracket", "Director <vanthu@a.gov.vn", ""},
		{"junk after the address", "Van thu <vanthu@a.gov.vn>, <", ""},
		{"raw Latin-1 display name", "Gi\xe1m \xf0\xe1c <vanthu@a.gov.vn>", ""},
		{"control character after the domain", "<vanthu@a.gov.vn\x01>", ""},
		{"invisible joiner after the domain", "<vanthu@a.gov.vn\u200d>", ""},
		{"invisible joiner inside the domain", "Van thu <vanthu@a.gov\u200d.vn>", ""},
		// Read as UTF-8 the backslash quotes the closing quote and the address is lost in a quoted string; the
		// ENVELOPE reads raw bytes in the body's charset, where \x81\\ is one character and the address stands.
		{"raw Shift_JIS hiding a quote", "<vanthu@a.gov.vn> \"\x81\\\", <junk", "shift_jis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := plainMsg(tc.from)
			if tc.charset != "" {
				msg = crlf("From: " + tc.from + "\nContent-Type: text/plain; charset=" + tc.charset + "\n\nbody\n")
			}
			if shown := message.Parse(msg).Envelope.From; len(shown) != 1 || asSeen(shown[0].Host) != "a.gov.vn" {
				t.Fatalf("ENVELOPE From %+v: the case no longer shows a.gov.vn", shown)
			}
			res := verifier(world(t)).Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@forger.example", Message: msg})
			if res.DMARC.Result != "fail" || res.DMARC.Domain != "a.gov.vn" || res.Action != Reject {
				t.Errorf("DMARC %+v, Action %v; want fail for a.gov.vn, reject", res.DMARC, res.Action)
			}
		})
	}
}

// A subdomain of a domain served here is held to its implied p=reject too, as sp= defaults to p=.
func TestProtectedDomainCoversSubdomains(t *testing.T) {
	v := verifier(world(t))
	v.Protected = func(d string) bool { return d == "c.gov.vn" }
	for _, from := range []string{"giamdoc@vanphong.c.gov.vn", "x@a.b.c.gov.vn"} {
		res := v.Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@forger.example", Message: plainMsg(from)})
		if res.DMARC.Result != "fail" || res.DMARC.Policy != "reject" || res.Action != Reject ||
			!strings.Contains(res.DMARC.Reason, "subdomain of c.gov.vn") {
			t.Errorf("%s: DMARC %+v, Action %v; want fail, p=reject as a subdomain of c.gov.vn", from, res.DMARC, res.Action)
		}
	}
	// Another organisation under the public suffix is not covered.
	res := v.Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@forger.example", Message: plainMsg("x@vp.d.gov.vn")})
	if res.DMARC.Result != "none" || res.Action != Accept {
		t.Errorf("unrelated domain: DMARC %+v, Action %v; want none, accept", res.DMARC, res.Action)
	}
}

// A DMARC record is used despite errors in tags the evaluation does not need, and keywords in any case (RFC 7489
// 6.3); only a missing or unknown p= leaves no policy.
func TestDMARCRecordLenientSyntax(t *testing.T) {
	for _, tc := range []struct {
		record string
		from   string // default vanthu@a.gov.vn
		sign   bool   // with a.gov.vn's Ed25519 key
		result string
		policy string
		action Action
	}{
		{record: "v=DMARC1; p=reject; adkim=relaxed", result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=reject; fo=2", result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=reject; ri=0", result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=reject; rf=xml; pct=all; rua=", result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=reject; stray text; =x", result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=REJECT", result: "fail", policy: "reject", action: Reject},
		{record: " V = dmarc1 ; P = Quarantine ", result: "fail", policy: "quarantine", action: Quarantine},
		{record: "v=DMARC1; p=reject; p=none", result: "fail", policy: "reject", action: Reject},
		// a.gov.vn's signature aligns with vp.a.gov.vn only in relaxed mode: S is strict, and an unknown mode is the
		// default, relaxed.
		{record: "v=DMARC1; p=reject; adkim=S", from: "x@vp.a.gov.vn", sign: true, result: "fail", policy: "reject", action: Reject},
		{record: "v=DMARC1; p=reject; adkim=strict", from: "x@vp.a.gov.vn", sign: true, result: "pass", policy: "reject", action: Accept},
		{record: "v=DMARC1; p=none", result: "fail", policy: "none", action: Accept},
		{record: "v=DMARC1; p=drop", result: "permerror", action: Accept},
		{record: "v=DMARC1; sp=reject", result: "permerror", action: Accept},
		{record: "p=reject; v=DMARC1", result: "none", action: Accept}, // v= not first: not a DMARC record
		{record: "v=DMARC2; p=reject", result: "none", action: Accept},
	} {
		t.Run(tc.record, func(t *testing.T) {
			from := cmp.Or(tc.from, "vanthu@a.gov.vn")
			f := world(t)
			f.txt["_dmarc."+from[strings.IndexByte(from, '@')+1:]] = []string{tc.record}
			msg := plainMsg(from)
			if tc.sign {
				msg = signed(t, msg, "a.gov.vn", keys(t)[1])
			}
			res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@forger.example", Message: msg})
			if res.DMARC.Result != tc.result || res.DMARC.Policy != tc.policy || res.Action != tc.action {
				t.Errorf("DMARC %+v, Action %v; want %s, policy %q, %v", res.DMARC, res.Action, tc.result, tc.policy, tc.action)
			}
		})
	}
}

// A subdomain without a record of its own gets the organisation's p= when the organisation's sp= is unreadable.
func TestDMARCUnreadableSubdomainPolicy(t *testing.T) {
	f := world(t)
	f.txt["_dmarc.hanoi.gov.vn"] = []string{"v=DMARC1; p=reject; sp=bogus"}
	res := verifier(f).Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "x@forger.example",
		Message: plainMsg("x@vanphong.hanoi.gov.vn")})
	if res.DMARC.Result != "fail" || res.DMARC.Policy != "reject" || res.Action != Reject {
		t.Errorf("DMARC %+v, Action %v; want fail, p=reject", res.DMARC, res.Action)
	}
}

// The client's reverse zone, which a forger controls, cannot spend the time of the forged domain's own SPF lookups:
// the "ptr" lookups it drives have a quarter of the Timeout, and the forgery still fails.
func TestReverseDNSBudget(t *testing.T) {
	slowNames := make([]string, 10) // SPF checks ten names of a reverse lookup (RFC 7208 4.6.4)
	for i := range slowNames {
		slowNames[i] = fmt.Sprintf("h%d.forger.example", i)
	}
	for _, tc := range []struct {
		name  string
		names []string // the reverse zone's names for badIP; nil: the reverse lookup stalls
	}{
		{"reverse lookup stalls", nil},
		{"forward checks of its names stall", slowNames},
		{"the forged domain's host among them", append([]string{"mail.a.gov.vn"}, slowNames[1:]...)},
		{"the forged domain's host after ten that stall", append(slowNames, "mail.a.gov.vn")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := world(t)
			f.txt["a.gov.vn"] = []string{"v=spf1 ptr:a.gov.vn a:mail.a.gov.vn -all"}
			f.slow = map[string]bool{badIP.String(): tc.names == nil}
			for _, n := range slowNames {
				f.slow[n] = true
			}
			f.ptr = map[string][]string{badIP.String(): tc.names}
			v := verifier(f)
			v.Timeout = 400 * time.Millisecond
			start := time.Now()
			res := v.Verify(t.Context(), Inbound{IP: badIP, Helo: "forger.example", MailFrom: "vanthu@a.gov.vn", Message: plainMsg(vanthu)})
			if res.SPF.Result != "fail" || res.DMARC.Result != "fail" || res.Action != Reject {
				t.Errorf("SPF %+v, DMARC %s, Action %v; want fail, fail, reject", res.SPF, res.DMARC.Result, res.Action)
			}
			if d := time.Since(start); d >= v.Timeout {
				t.Errorf("Verify took %v, the whole Timeout", d)
			}
		})
	}
	// A genuine "ptr" match still passes.
	f := world(t)
	f.txt["a.gov.vn"] = []string{"v=spf1 ptr:a.gov.vn -all"}
	f.ptr = map[string][]string{goodIP.String(): {"mail.a.gov.vn."}}
	res := verifier(f).Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: plainMsg(vanthu)})
	if res.SPF.Result != "pass" || res.Action != Accept {
		t.Errorf("genuine ptr: SPF %+v, Action %v", res.SPF, res.Action)
	}
}
