package message

import (
	"strings"
	"testing"
)

func TestObscureAuthResults(t *testing.T) {
	const host = "mail.hanoi.gov.vn"
	cases := []struct {
		name, header, want string
	}{
		{"claims our id",
			"Authentication-Results: mail.hanoi.gov.vn; dmarc=pass header.from=a.gov.vn\r\n",
			"X-Untrusted-Authentication-Results: mail.hanoi.gov.vn; dmarc=pass header.from=a.gov.vn\r\n"},
		{"case, comment, version and folding",
			"authentication-results: (hi) MAIL.Hanoi.gov.vn 1;\r\n\tdkim=pass header.d=a.gov.vn\r\n",
			"X-Untrusted-Authentication-Results: (hi) MAIL.Hanoi.gov.vn 1;\r\n\tdkim=pass header.d=a.gov.vn\r\n"},
		{"quoted id", "Authentication-Results: \"mail.hanoi.gov.vn\"; none\r\n",
			"X-Untrusted-Authentication-Results: \"mail.hanoi.gov.vn\"; none\r\n"},
		{"another server's results stay", "Authentication-Results: mx.a.gov.vn; spf=pass smtp.mailfrom=a.gov.vn\r\n",
			"Authentication-Results: mx.a.gov.vn; spf=pass smtp.mailfrom=a.gov.vn\r\n"},
		{"a longer name that starts with ours stays", "Authentication-Results: mail.hanoi.gov.vn.evil; none\r\n",
			"Authentication-Results: mail.hanoi.gov.vn.evil; none\r\n"},
		{"other fields stay", "X-Authentication-Results: mail.hanoi.gov.vn; none\r\n",
			"X-Authentication-Results: mail.hanoi.gov.vn; none\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := "Received: from x by y; Mon, 2 Jan 2026 10:00:00 +0700\r\n" + c.header + "Subject: s\r\n\r\nAuthentication-Results: mail.hanoi.gov.vn; none\r\n"
			want := "Received: from x by y; Mon, 2 Jan 2026 10:00:00 +0700\r\n" + c.want + "Subject: s\r\n\r\nAuthentication-Results: mail.hanoi.gov.vn; none\r\n"
			if got := string(ObscureAuthResults([]byte(raw), host)); got != want {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestObscureAuthResultsSeveral(t *testing.T) {
	raw := "Authentication-Results: mail.hanoi.gov.vn; spf=pass\r\nFrom: a@a.gov.vn\r\n" +
		"Authentication-Results: mail.hanoi.gov.vn; dkim=pass\r\n\r\nbody\r\n"
	got := string(ObscureAuthResults([]byte(raw), "mail.hanoi.gov.vn"))
	if n := strings.Count(got, "X-Untrusted-Authentication-Results: mail.hanoi.gov.vn;"); n != 2 {
		t.Fatalf("%d fields renamed, want 2:\n%s", n, got)
	}
	if strings.ReplaceAll(got, "X-Untrusted-", "") != raw {
		t.Fatalf("more than the names changed:\n%q", got)
	}
}

func TestResultsAuthservID(t *testing.T) {
	for in, want := range map[string]string{
		" mail.x.vn; none":          "mail.x.vn",
		"mail.x.vn 1; none":         "mail.x.vn",
		"(a (nested) c) mail.x.vn;": "mail.x.vn",
		`"mail.x.vn"; none`:         "mail.x.vn",
		"(unclosed mail.x.vn;":      "",
		"":                          "",
	} {
		if got := resultsAuthservID(in); got != want {
			t.Errorf("resultsAuthservID(%q) = %q, want %q", in, got, want)
		}
	}
}
