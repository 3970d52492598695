package mailauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Key is a DKIM signing key of a domain.
type Key struct {
	Selector  string
	Algorithm string // "rsa" or "ed25519"
	Private   []byte // PKCS#8 DER
}

// rsaBits is the size of generated RSA keys: what RFC 8301 3.2 asks signers for. Ed25519 keys (RFC 8463) are
// smaller and faster, but not every verifier knows them yet, so a domain signs with both.
const rsaBits = 2048

// GenerateKey makes a new key for the algorithm, "rsa" or "ed25519".
func GenerateKey(algorithm, selector string) (Key, error) {
	if !validSelector(selector) {
		return Key{}, fmt.Errorf("generate DKIM key: invalid selector %q", selector)
	}
	var priv any
	var err error
	switch algorithm {
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return Key{}, fmt.Errorf("generate DKIM key %s: unknown algorithm %q (want rsa or ed25519)", selector, algorithm)
	}
	if err != nil {
		return Key{}, fmt.Errorf("generate DKIM key %s: %w", selector, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, fmt.Errorf("generate DKIM key %s: %w", selector, err)
	}
	return Key{Selector: selector, Algorithm: algorithm, Private: der}, nil
}

// SelectorFor names a key made at t: the algorithm and the month (UTC), "rsa-202611" or "ed-202611". Dated names
// let a new key be published next to the old one when keys are rotated.
func SelectorFor(algorithm string, t time.Time) string {
	prefix := algorithm
	if algorithm == "ed25519" {
		prefix = "ed"
	}
	return prefix + "-" + t.UTC().Format("200601")
}

// PublicRecord returns the TXT record to publish at <selector>._domainkey.<domain> (RFC 6376 3.6.1): the RSA key
// as a SubjectPublicKeyInfo, the Ed25519 key as its 32 bytes (RFC 8463 4.2).
func (k Key) PublicRecord() (string, error) {
	signer, err := k.signer()
	if err != nil {
		return "", err
	}
	var p []byte
	switch pub := signer.Public().(type) {
	case *rsa.PublicKey:
		if p, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return "", fmt.Errorf("DKIM key %s: %w", k.Selector, err)
		}
	case ed25519.PublicKey:
		p = pub
	}
	return "v=DKIM1; k=" + k.Algorithm + "; p=" + base64.StdEncoding.EncodeToString(p), nil
}

// signer parses the private key and checks it is what the Key says.
func (k Key) signer() (crypto.Signer, error) {
	if !validSelector(k.Selector) {
		return nil, fmt.Errorf("DKIM key: invalid selector %q", k.Selector)
	}
	if k.Algorithm != "rsa" && k.Algorithm != "ed25519" {
		return nil, fmt.Errorf("DKIM key %s: unknown algorithm %q (want rsa or ed25519)", k.Selector, k.Algorithm)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("DKIM key %s: %w", k.Selector, err)
	}
	switch priv := parsed.(type) {
	case *rsa.PrivateKey:
		if k.Algorithm == "rsa" && priv.N.BitLen() < 1024 {
			// RFC 8301 3.2: verifiers ignore signatures by shorter keys.
			return nil, fmt.Errorf("DKIM key %s: RSA key of %d bits, want at least 1024", k.Selector, priv.N.BitLen())
		}
		if k.Algorithm == "rsa" {
			return priv, nil
		}
	case ed25519.PrivateKey:
		if k.Algorithm == "ed25519" {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("DKIM key %s: the key is a %T, not %s", k.Selector, parsed, k.Algorithm)
}

// validSelector: a selector is a domain name under _domainkey (RFC 6376 3.1), without the underscores other
// names there may have.
func validSelector(s string) bool { return isDNSName(s) && !strings.Contains(s, "_") }
