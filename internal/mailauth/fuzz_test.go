package mailauth

import (
	"testing"
)

// FuzzVerify: whatever the message, Verify does not panic, verifies at most MaxDKIM signatures, and its header is
// one well-formed field.
//
//	go test -run '^$' -fuzz FuzzVerify ./internal/mailauth/
func FuzzVerify(f *testing.F) {
	w := world(f)
	sig, err := Sign(vietnameseMessage(vanthu), "a.gov.vn", keys(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(sig, vietnameseMessage(vanthu)...))
	f.Add(vietnameseMessage("x@c.gov.vn, " + vanthu))
	f.Add(append(append(sig, sig...), crlf("From: <<<\nFrom: x@vanphong.hanoi.gov.vn\n")...))
	f.Add(crlf("DKIM-Signature: v=1; a=ed25519-sha256; d=a.gov.vn; s=ed-202611; h=from; bh=AAAA; b=AAAA\n" +
		" \t; c=relaxed\nFrom: \"=?windows-1258?Q?V=E3n?=\" <vanthu@A.GOV.VN.>\n\nbody\n"))
	f.Add([]byte("DKIM-Signature: s=x\nDKIM-Signature:\n\nFrom: a@b.vn\n\n"))
	f.Add([]byte("From: a@[192.0.2.1]\r\n\r\n"))
	f.Add(crlf("From: <vanthu@a.gov.vn> \"\x81\\\", <junk\nContent-Type: text/plain; charset=shift_jis\n\nbody\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		v := &Verifier{Resolver: &fakeDNS{txt: w.txt, ips: w.ips}, AuthServID: "mail.b.gov.vn", MaxDKIM: 3}
		res := v.Verify(t.Context(), Inbound{IP: goodIP, Helo: "mail.a.gov.vn", MailFrom: "vanthu@a.gov.vn", Message: msg})
		if len(res.DKIM) > 3 {
			t.Errorf("%d DKIM results", len(res.DKIM))
		}
		checkField(t, res.Header(), 2+max(1, len(res.DKIM)))
	})
}
