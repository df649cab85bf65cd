package vault

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"

	"github.com/pquerna/otp"
)

var seedEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226's code for key at counter, with the hash alg and
// digits (6 to 8): HMAC computed on stack buffers with the hashes'
// one-shot Sum functions, so a code allocates nothing but its string.
// crypto/hmac would build two hash states per call.
func hotp(key []byte, counter uint64, alg otp.Algorithm, digits int) string {
	block := 64
	if alg == otp.AlgorithmSHA512 {
		block = 128
	}
	var hashed [64]byte
	if len(key) > block {
		key = hashed[:sum(alg, &hashed, key)]
	}
	// inner = H((key ^ ipad) || counter); outer = H((key ^ opad) || inner)
	var buf [128 + 64]byte
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
	}
	binary.BigEndian.PutUint64(buf[block:], counter)
	var inner [64]byte
	n := sum(alg, &inner, buf[:block+8])
	for i := range block {
		buf[i] ^= 0x36 ^ 0x5c
	}
	copy(buf[block:], inner[:n])
	var macBuf [64]byte
	mac := macBuf[:sum(alg, &macBuf, buf[:block+n])]
	off := mac[len(mac)-1] & 0x0f
	v := binary.BigEndian.Uint32(mac[off:]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	v %= mod
	var out [8]byte
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out[:digits])
}

// sum writes alg's one-shot hash of b into dst and returns its length.
func sum(alg otp.Algorithm, dst *[64]byte, b []byte) int {
	switch alg {
	case otp.AlgorithmSHA256:
		h := sha256.Sum256(b)
		return copy(dst[:], h[:])
	case otp.AlgorithmSHA512:
		h := sha512.Sum512(b)
		return copy(dst[:], h[:])
	default:
		h := sha1.Sum(b)
		return copy(dst[:], h[:])
	}
}

// seedCode is the current code of a bare base32 seed (spaces, dashes,
// padding and case as people type them) at counter with RFC 6238's
// defaults, decoded on the stack; ok is false when the seed holds anything
// but base32 letters, spaces, dashes and trailing padding, or is too long
// for the stack, and the caller takes the general path (parseTOTP).
func seedCode(seed string, counter uint64) (code string, ok bool) {
	var clean [256]byte
	n := 0
	for i := 0; i < len(seed); i++ {
		c := seed[i]
		switch {
		case c == ' ' || c == '-':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '2' && c <= '7', c == '=':
		default:
			return "", false // anything else: the general path decides
		}
		if n == len(clean) {
			return "", false
		}
		clean[n] = c
		n++
	}
	for n > 0 && clean[n-1] == '=' {
		n--
	}
	var key [160]byte
	if n == 0 || seedEncoding.DecodedLen(n) > len(key) {
		return "", false
	}
	k, err := seedEncoding.Decode(key[:], clean[:n])
	if err != nil || k == 0 {
		return "", false
	}
	return hotp(key[:k], counter, otp.AlgorithmSHA1, 6), true
}
