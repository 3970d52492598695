package auth

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// cheap keeps tests fast; production uses DefaultHasher.
var cheap = Hasher{Time: 1, MemoryKiB: 64, Threads: 1}

func TestHashVerify(t *testing.T) {
	enc, err := cheap.Hash("Mật khẩu 2024")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q, want PHC argon2id format", enc)
	}
	if ok, err := Verify(enc, "Mật khẩu 2024"); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := Verify(enc, "Mật khẩu 2025"); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	again, _ := cheap.Hash("Mật khẩu 2024")
	if again == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestDefaultHasher(t *testing.T) {
	enc, err := DefaultHasher().Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q", enc)
	}
	if ok, err := Verify(enc, "correct horse"); !ok || err != nil {
		t.Errorf("Verify = %v, %v", ok, err)
	}
	if DefaultHasher().NeedsRehash(enc) {
		t.Error("NeedsRehash(own hash) = true")
	}
	if !cheap.NeedsRehash(enc) || !DefaultHasher().NeedsRehash("garbage") {
		t.Error("NeedsRehash(other parameters or garbage) = false")
	}
}

// A known answer from golang.org/x/crypto/argon2's test vectors, written
// in PHC form by hand, checks that m, t and p are read into the right places.
func TestVerifyKnownAnswer(t *testing.T) {
	key, _ := hex.DecodeString("350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362")
	b64 := base64.RawStdEncoding
	enc := "$argon2id$v=19$m=64,t=2,p=2$" + b64.EncodeToString([]byte("somesalt")) + "$" + b64.EncodeToString(key)
	if ok, err := Verify(enc, "password"); !ok || err != nil {
		t.Errorf("Verify(%q) = %v, %v", enc, ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := cheap.Hash("pw")
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for _, enc := range []string{
		"",
		"plaintext",
		"$2a$10$abcdefghijklmnopqrstuv",
		with(1, "argon2i"),
		with(2, "v=16"),
		with(3, "m=64,t=1"),
		with(3, "m=64,t=1,p=1,x=2"),
		with(3, "m=64,t=0,p=1"),
		with(3, "m=64,t=1,p=0"),
		with(3, "m=4,t=1,p=1"),
		with(3, "m=99999999,t=1,p=1"),
		with(3, "m=64,t=1,p=300"),
		with(4, "!!!"),
		with(5, ""),
		good + "$extra",
	} {
		ok, err := Verify(enc, "pw")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", enc, ok, err)
		}
	}
}

func TestHashRejectsBadParameters(t *testing.T) {
	for _, h := range []Hasher{{}, {Time: 1, MemoryKiB: 64}, {Time: 1, MemoryKiB: 7, Threads: 1}} {
		if _, err := h.Hash("pw"); err == nil {
			t.Errorf("%+v.Hash succeeded", h)
		}
	}
}

func TestCheckPasswordStrength(t *testing.T) {
	tests := []struct{ pw, want string }{
		{"", "password must not be empty"},
		{"Ab1", "password must be at least 10 characters"},
		{"Đỗ Mười 9", "password must be at least 10 characters"}, // 9 runes, more bytes
		{"abcdefghijkl", "password must mix"},
		{"ABCDEFGHIJKL", "password must mix"},
		{"123456789012", "password must mix"},
		{"aaaaaaaaaa", "password must mix"},
		{"đườngphốhànội", "password must mix"},
		{"abcdefghij1", ""},
		{"correct horse battery", ""},
		{"Đường Phố Hà Nội", ""},
	}
	for _, tt := range tests {
		err := CheckPasswordStrength(tt.pw)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckPasswordStrength(%q) = %v, want nil", tt.pw, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("CheckPasswordStrength(%q) = %v, want %q", tt.pw, err, tt.want)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw := GeneratePassword()
		if len(pw) != 16 {
			t.Fatalf("GeneratePassword() = %q, want 16 characters", pw)
		}
		if strings.ContainsAny(pw, "0O1lIo") {
			t.Errorf("GeneratePassword() = %q has an ambiguous character", pw)
		}
		if err := CheckPasswordStrength(pw); err != nil {
			t.Errorf("GeneratePassword() = %q: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("GeneratePassword() repeated %q", pw)
		}
		seen[pw] = true
	}
}

func TestVerifyIgnoresUnicodeForm(t *testing.T) {
	h := Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}
	precomposed := "Mật-khẩu-2026"
	decomposed := "Ma\u0323\u0302t-kha\u0302\u0309u-2026"
	if precomposed == decomposed {
		t.Fatal("test strings should differ in bytes")
	}
	encoded, err := h.Hash(precomposed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(encoded, decomposed); err != nil || !ok {
		t.Errorf("decomposed spelling of the same password refused: %v", err)
	}
}
