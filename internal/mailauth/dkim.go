package mailauth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"unicode"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMResult is the verification of one DKIM signature (RFC 6376).
type DKIMResult struct {
	Result   string // "pass", "fail", "temperror" or "permerror"
	Domain   string // the signing domain, d=
	Selector string // s=
	Reason   string // why, when it did not pass
}

// verifyDKIM verifies the first max signatures of msg; the rest are ignored, so that a message carrying hundreds
// cannot make the server do hundreds of key lookups and RSA operations. No signature: no results.
func verifyDKIM(ctx context.Context, r bounded, msg []byte, max int) []DKIMResult {
	sigs := headerFields(msg, "DKIM-Signature")
	if len(sigs) == 0 {
		return nil
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return r.LookupTXT(ctx, name) },
		MaxVerifications: max,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The header could not be read, or a failure belonged to no one signature. go-msgauth then clears that
		// signature's error in what it returns, so none of the verifications can be trusted.
		return []DKIMResult{{Result: "permerror", Reason: dkimReason(err)}}
	}
	out := make([]DKIMResult, len(verifs))
	for i, v := range verifs {
		out[i] = DKIMResult{Result: "pass", Domain: v.Domain}
		if i < len(sigs) { // always, while headerFields reads the header as the verifier does
			out[i].Selector = tag(sigs[i], "s")
		}
		switch {
		case v.Err == nil:
			continue
		case dkim.IsTempFail(v.Err):
			out[i].Result = "temperror"
		case dkim.IsPermFail(v.Err):
			out[i].Result = "permerror"
		default:
			out[i].Result = "fail"
		}
		out[i].Reason = dkimReason(v.Err)
	}
	return out
}

func dkimReason(err error) string { return strings.TrimPrefix(err.Error(), "dkim: ") }

// tag returns the value of a tag of a DKIM tag list ("v=1; a=rsa-sha256; d=..."), whitespace removed, as
// go-msgauth reads it.
func tag(list, name string) string {
	for _, spec := range strings.Split(list, ";") {
		k, v, ok := strings.Cut(spec, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, v)
		}
	}
	return ""
}
