package mailauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSelectorFor(t *testing.T) {
	ict := time.FixedZone("ICT", 7*3600)
	for _, tc := range []struct {
		alg  string
		t    time.Time
		want string
	}{
		{"rsa", month, "rsa-202611"},
		{"ed25519", month, "ed-202611"},
		{"rsa", time.Date(2026, 12, 1, 0, 30, 0, 0, ict), "rsa-202611"}, // named by the UTC month, whatever the zone
	} {
		if got := SelectorFor(tc.alg, tc.t); got != tc.want {
			t.Errorf("SelectorFor(%s, %v) = %s, want %s", tc.alg, tc.t, got, tc.want)
		}
	}
}

func TestPublicRecord(t *testing.T) {
	for _, k := range keys(t) {
		rec, err := k.PublicRecord()
		if err != nil {
			t.Fatal(err)
		}
		prefix := "v=DKIM1; k=" + k.Algorithm + "; p="
		if !strings.HasPrefix(rec, prefix) {
			t.Fatalf("%s: record %q", k.Selector, rec)
		}
		p, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(rec, prefix))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.Private)
		if err != nil {
			t.Fatal(err)
		}
		switch priv := priv.(type) {
		case *rsa.PrivateKey:
			pub, err := x509.ParsePKIXPublicKey(p)
			if err != nil || !priv.PublicKey.Equal(pub) || priv.N.BitLen() != 2048 {
				t.Errorf("RSA record does not hold the 2048-bit public key as SubjectPublicKeyInfo: %v", err)
			}
		case ed25519.PrivateKey:
			if !bytes.Equal(p, priv.Public().(ed25519.PublicKey)) {
				t.Errorf("Ed25519 record does not hold the raw public key")
			}
		default:
			t.Errorf("%s: private key %T", k.Selector, priv)
		}
	}
}

func TestSign(t *testing.T) {
	before := time.Now().Unix()
	sigs, err := Sign(vietnameseMessage(vanthu), "A.Gov.VN", keys(t))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(string(sigs), "DKIM-Signature:")
	if len(fields) != 3 || fields[0] != "" || !strings.HasSuffix(fields[1], "\r\n") || !strings.HasSuffix(fields[2], "\r\n") {
		t.Fatalf("want two CRLF-terminated fields:\n%s", sigs)
	}
	for i, alg := range []string{"rsa-sha256", "ed25519-sha256"} {
		f := strings.ReplaceAll(fields[i+1], "\r\n", "")
		for tagName, want := range map[string]string{
			"a": alg, "c": "relaxed/relaxed", "d": "a.gov.vn", "s": keys(t)[i].Selector, "h": strings.Join(SignedHeaders, ":"),
		} {
			if got := tag(f, tagName); got != want {
				t.Errorf("signature %d: %s=%s, want %s", i, tagName, got, want)
			}
		}
		if ts, err := strconv.ParseInt(tag(f, "t"), 10, 64); err != nil || ts < before || ts > time.Now().Unix() {
			t.Errorf("signature %d: t=%s", i, tag(f, "t"))
		}
	}
}

func TestKeyErrors(t *testing.T) {
	rsaKey, edKey := keys(t)[0], keys(t)[1]
	msg := vietnameseMessage(vanthu)
	for _, tc := range []struct {
		name string
		key  Key
		want string // in the error
	}{
		{"bad DER", Key{Selector: "rsa-202611", Algorithm: "rsa", Private: []byte("not a key")}, "rsa-202611"},
		{"Ed25519 key said to be RSA", Key{Selector: "rsa-202612", Algorithm: "rsa", Private: edKey.Private}, "rsa-202612"},
		{"RSA key said to be Ed25519", Key{Selector: "ed-202612", Algorithm: "ed25519", Private: rsaKey.Private}, "ed-202612"},
		{"unknown algorithm", Key{Selector: "dsa-202611", Algorithm: "dsa", Private: rsaKey.Private}, "dsa-202611"},
		{"bad selector", Key{Selector: "a;b", Algorithm: "rsa", Private: rsaKey.Private}, `"a;b"`},
	} {
		if _, err := Sign(msg, "a.gov.vn", []Key{edKey, tc.key}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Sign error %v, want one naming %s", tc.name, err, tc.want)
		}
		if _, err := tc.key.PublicRecord(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: PublicRecord error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
	if _, err := GenerateKey("dsa", "dsa-202611"); err == nil {
		t.Error("GenerateKey made a dsa key")
	}
	if _, err := GenerateKey("ed25519", "ed 2026"); err == nil {
		t.Error("GenerateKey took a selector with a space")
	}
	if _, err := Sign(msg, "a.gov.vn", nil); err == nil {
		t.Error("Sign without keys")
	}
	if _, err := Sign(msg, "a.gov.vn;x", []Key{edKey}); err == nil {
		t.Error("Sign for a domain with a semicolon")
	}
	if _, err := Sign([]byte("From: vanthu@a.gov.vn\r\n"), "a.gov.vn", []Key{edKey}); err == nil {
		t.Error("Sign of a message whose header does not end")
	}
}
