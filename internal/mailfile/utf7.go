package mailfile

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 5.1.3) is how Dovecot and Courier name folders on disk: printable ASCII stands for
// itself except '&', written "&-"; other text is UTF-16 in base64 with ',' for '/', between '&' and '-'.
// go-imap's codec is internal to it, so the few lines are here.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

var errBadUTF7 = errors.New("not modified UTF-7")

// DecodeFolderName decodes a modified UTF-7 folder name.
func DecodeFolderName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errBadUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errBadUTF7
		}
		if end == 0 {
			b.WriteByte('&')
		} else if err := decodeUTF16Run(&b, s[i+1:i+1+end]); err != nil {
			return "", err
		}
		i += end + 1
	}
	return b.String(), nil
}

func decodeUTF16Run(b *strings.Builder, run string) error {
	raw, err := mutf7.DecodeString(run)
	if err != nil || len(raw)%2 != 0 {
		return errBadUTF7
	}
	units := make([]uint16, len(raw)/2)
	for i := range units {
		units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
	}
	for _, r := range utf16.Decode(units) {
		if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) { // a printable ASCII character must stand for itself
			return errBadUTF7
		}
		b.WriteRune(r)
	}
	return nil
}

// EncodeFolderName encodes a folder name in modified UTF-7.
func EncodeFolderName(s string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		raw := make([]byte, 2*len(run))
		for i, u := range run {
			raw[2*i], raw[2*i+1] = byte(u>>8), byte(u)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			b.WriteRune(r)
			if r == '&' {
				b.WriteByte('-')
			}
			continue
		}
		run = utf16.AppendRune(run, r)
	}
	flush()
	return b.String()
}
