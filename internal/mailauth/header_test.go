package mailauth

import (
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// checkField checks that h is one Authentication-Results field of n results that no value has broken: CRLF only
// before a tab continuation or at the end, printable ASCII, a ";" only between results, comments closed, and a
// parse (by a parser that splits at ";" and spaces) finding the n results.
func checkField(t *testing.T, h string, n int) {
	t.Helper()
	if !strings.HasPrefix(h, "Authentication-Results: ") || !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("not a header field: %q", h)
	}
	body := strings.TrimSuffix(h, "\r\n")
	for i, line := range strings.Split(body, "\r\n") {
		if i > 0 && !strings.HasPrefix(line, "\t") {
			t.Errorf("line %d is not a continuation: %q", i, line)
		}
		if i > 0 {
			line = line[1:]
		}
		for _, c := range []byte(line) {
			if c < ' ' || c > '~' {
				t.Errorf("line %d has byte %#x: %q", i, c, line)
			}
		}
	}
	if got := strings.Count(h, ";"); got != n {
		t.Errorf("%d semicolons, want %d: %q", got, n, h)
	}
	if strings.Count(h, "(") != strings.Count(h, ")") {
		t.Errorf("unbalanced comment: %q", h)
	}
	_, results, err := authres.Parse(strings.TrimPrefix(strings.ReplaceAll(body, "\r\n", ""), "Authentication-Results: "))
	if err != nil || len(results) != n {
		t.Errorf("parsed %d results (%v), want %d: %q", len(results), err, n, h)
	}
}

func TestHeaderInjection(t *testing.T) {
	evil := "a.gov.vn;\r\n\tdkim=pass header.d=x\r\nX-Injected: yes\n\"(;)=\x00 \\ ừ" + strings.Repeat("x", 500)
	r := Result{
		AuthServID: "mail.b.gov.vn\r\nX-Injected: yes",
		SPF:        SPFResult{Result: "fail", Domain: evil, Reason: evil},
		DKIM: []DKIMResult{
			{Result: "pass; dmarc=pass", Domain: evil, Selector: evil, Reason: evil},
			{Result: "fail", Domain: evil, Selector: evil, Reason: evil},
		},
		DMARC: DMARCResult{Result: "fail", Domain: evil, Policy: "reject)\r\n", Reason: evil},
	}
	h := r.Header()
	checkField(t, h, 4)
	if strings.Contains(h, "\nX-Injected") || strings.Contains(h, "=pass") {
		t.Errorf("injected:\n%s", h)
	}
}

// Values from a hostile message reach the header only as harmless tokens.
func TestHeaderHostileMessage(t *testing.T) {
	msg := crlf("DKIM-Signature: v=1; a=rsa-sha256; d=a.gov.vn(x)\"; s=a\"b(c)=d\\\n" +
		"\t; h=from; bh=AAAA; b=AAAA\nFrom: \"a;b\" <x@xn--vit-nam-2ua.vn>\n\nbody\n")
	res := verifier(world(t)).Verify(t.Context(), Inbound{IP: badIP, Helo: "h;x\r\n", MailFrom: "x@a.gov.vn;(\r\n", Message: msg})
	h := res.Header()
	checkField(t, h, 3)
	if !strings.Contains(h, "header.s=a_b_c__d_") || !strings.Contains(h, "header.d=a.gov.vn_x__") {
		t.Errorf("Header:\n%s", h)
	}
}

func TestHeaderZero(t *testing.T) {
	want := "Authentication-Results: \"\";\r\n\tspf=none;\r\n\tdkim=none;\r\n\tdmarc=none\r\n"
	if got := (Result{}).Header(); got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
