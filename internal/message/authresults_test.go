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

// FuzzObscureAuthResults: only field names change, and afterwards no header field claims the id.
//
//	go test -run '^$' -fuzz FuzzObscureAuthResults ./internal/message/
func FuzzObscureAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mail.x.vn; spf=pass\r\nFrom: a@b.vn\r\n\r\nbody\r\n"))
	f.Add([]byte("authentication-results:(c (d)) \"MAIL.X.VN\" 1;\n\tnone\nSubject: s\n\n"))
	f.Add([]byte("Authentication-Results : mail.x.vn;\r\n\r\nAuthentication-Results: mail.x.vn;\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := ObscureAuthResults(raw, "mail.x.vn")
		// Only names change, each by the prefix (the original name may be in any case).
		strip := func(b []byte) string { return strings.ReplaceAll(string(b), "X-Untrusted-", "") }
		if (len(out)-len(raw))%len("X-Untrusted-") != 0 || !strings.EqualFold(strip(out), strip(raw)) {
			t.Fatalf("more than field names changed:\n%q\n%q", raw, out)
		}
		for _, fl := range parseFields(out[:headerEnd(out)], 0) {
			if strings.EqualFold(fl.name, "Authentication-Results") && strings.EqualFold(resultsAuthservID(fl.value), "mail.x.vn") {
				t.Fatalf("a field still claims the id:\n%q", out)
			}
		}
	})
}
