package vault

import (
	"encoding/base32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestHOTPMatchesReference: the allocation-free codes equal the otp
// library's for every algorithm, digit count, key length (keys longer
// than a hash block included) and many times, and RFC 6238's vectors.
func TestHOTPMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		key := make([]byte, 1+r.IntN(150))
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		seed := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
		alg := []otp.Algorithm{otp.AlgorithmSHA1, otp.AlgorithmSHA256, otp.AlgorithmSHA512}[i%3]
		digits := []otp.Digits{otp.DigitsSix, otp.DigitsEight, 7}[i%3]
		at := time.Unix(r.Int64N(4e9), 0)
		want, err := totp.GenerateCodeCustom(seed, at, totp.ValidateOpts{Period: 30, Digits: digits, Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		if got := hotp(key, uint64(at.Unix()/30), alg, digits.Length()); got != want {
			t.Fatalf("key %x alg %v digits %d at %v: %s, want %s", key, alg, digits, at, got, want)
		}
		if alg == otp.AlgorithmSHA1 && digits == otp.DigitsSix {
			typed := strings.ToLower(seed[:len(seed)/2]) + " - " + seed[len(seed)/2:]
			if got, ok := seedCode(typed, uint64(at.Unix()/30)); !ok || got != want {
				t.Fatalf("seedCode(%q) = %q %v, want %s", typed, got, ok, want)
			}
		}
	}
	// RFC 6238, appendix B (8 digits).
	for _, v := range []struct {
		key  string
		alg  otp.Algorithm
		at   int64
		want string
	}{
		{"12345678901234567890", otp.AlgorithmSHA1, 59, "94287082"},
		{"12345678901234567890123456789012", otp.AlgorithmSHA256, 1111111109, "68084774"},
		{"1234567890123456789012345678901234567890123456789012345678901234", otp.AlgorithmSHA512, 20000000000, "47863826"},
	} {
		if got := hotp([]byte(v.key), uint64(v.at/30), v.alg, 8); got != v.want {
			t.Fatalf("RFC 6238 %v at %d: %s, want %s", v.alg, v.at, got, v.want)
		}
	}
}

// TestSeedCodeLeavesOddInputToTheGeneralPath: what the fast path does not
// recognise goes to parseTOTP, which decides as before.
func TestSeedCodeLeavesOddInputToTheGeneralPath(t *testing.T) {
	for _, s := range []string{"", "====", "JBSWY3DP\tEHPK3PXP", "JBSW=Y3DP", "JBSWY3DPEHPK3PX1", "otpauth://totp/x?secret=JBSWY3DP", "ÄBC"} {
		if code, ok := seedCode(s, 1); ok {
			t.Errorf("seedCode(%q) = %q, want the general path", s, code)
		}
	}
	if _, _, err := TOTPCode(NewSecret("JBSWY3DP\tEHPK3PXP"), time.Unix(59, 0)); err == nil {
		t.Error("a tab inside a seed was accepted")
	}
	a, _, err1 := TOTPCode(NewSecret("  jbsw y3dp-ehpk 3pxp  "), time.Unix(1e9, 0))
	b, _, err2 := TOTPCode(NewSecret("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"), time.Unix(1e9, 0))
	if err1 != nil || err2 != nil || a != b {
		t.Fatalf("seed %q %v, URI %q %v", a, err1, b, err2)
	}
}

func BenchmarkTOTPCode(b *testing.B) {
	s := NewSecret("JBSWY3DPEHPK3PXP")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := TOTPCode(s, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTOTPReference is the otp library's code for the same seed
// (what TOTPCode computed before; crypto/hmac per call), BenchmarkTOTPCode's
// reference in the same run.
func BenchmarkTOTPReference(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := totp.GenerateCodeCustom("JBSWY3DPEHPK3PXP", now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}); err != nil {
			b.Fatal(err)
		}
	}
}
