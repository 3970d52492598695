package mailauth

import (
	"crypto"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// SignedHeaders are the header fields a signature covers (RFC 6376 5.4.1). From is listed twice: a field named
// in h= more often than the message has it must stay absent, so a second From added on the way breaks the
// signature instead of showing the reader another author.
var SignedHeaders = []string{
	"From", "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Sender",
}

// Sign returns a DKIM-Signature header field for each key, CRLF-terminated, to prepend to the message; the message
// itself is not copied. Signatures are rsa-sha256 or ed25519-sha256 with relaxed/relaxed canonicalization, for
// domain (d=). go-msgauth stamps t= with the current time.
func Sign(message []byte, domain string, keys []Key) ([]byte, error) {
	d, ok := normalizeDomain(domain)
	if !ok {
		return nil, fmt.Errorf("DKIM sign: %q is not a domain name", domain)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("DKIM sign for %s: no keys", d)
	}
	var out strings.Builder
	for _, k := range keys {
		signer, err := k.signer()
		if err != nil {
			return nil, fmt.Errorf("DKIM sign for %s: %w", d, err)
		}
		s, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 d,
			Selector:               k.Selector,
			Signer:                 signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             SignedHeaders,
		})
		if err != nil {
			return nil, fmt.Errorf("DKIM sign for %s with %s: %w", d, k.Selector, err)
		}
		s.Write(message) // fails only if the signer stopped reading, and then Close says why
		if err := s.Close(); err != nil {
			return nil, fmt.Errorf("DKIM sign for %s with %s: %w", d, k.Selector, err)
		}
		out.WriteString(s.Signature())
	}
	return []byte(out.String()), nil
}
