package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MinPasswordLength is the shortest password CheckPasswordStrength accepts.
const MinPasswordLength = 10

// CheckPasswordStrength rejects passwords that are empty, shorter than
// MinPasswordLength characters, or made of one kind of character only (all
// lower-case, all digits, ...). The error text is meant for the person
// choosing the password.
func CheckPasswordStrength(pw string) error {
	if pw == "" {
		return errors.New("password must not be empty")
	}
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLength)
	}
	if classes(pw) < 2 {
		return errors.New("password must mix at least two kinds of characters: lower-case letters, upper-case letters, digits, symbols")
	}
	return nil
}

// classes counts the kinds of characters in s. Vietnamese letters with
// diacritics count as letters of their case.
func classes(s string) int {
	var lower, upper, digit, other int
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	return lower + upper + digit + other
}

// passwordAlphabet leaves out characters that are easily confused when a
// password is read aloud or copied from paper: 0 O o 1 l I.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random 16-character password (about 93 bits)
// of unambiguous letters and digits that passes CheckPasswordStrength.
func GeneratePassword() string {
	const n = 16
	for {
		pw := make([]byte, 0, n)
		var buf [32]byte
		for len(pw) < n {
			rand.Read(buf[:]) // never fails (crypto/rand, Go 1.24+)
			for _, b := range buf {
				// Reject bytes past the last whole multiple of the alphabet
				// size so that every character is equally likely.
				if int(b) < 256-256%len(passwordAlphabet) && len(pw) < n {
					pw = append(pw, passwordAlphabet[int(b)%len(passwordAlphabet)])
				}
			}
		}
		if CheckPasswordStrength(string(pw)) == nil {
			return string(pw)
		}
	}
}
