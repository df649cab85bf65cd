package vault

import (
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// NormalizeTOTP validates a TOTP secret — a base32 seed or an otpauth://
// URI — and returns its canonical form: an upper-case, unpadded base32
// seed without spaces, or the URI unchanged once its seed is checked.
func NormalizeTOTP(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(strings.ToLower(v), "otpauth://") {
		k, err := otp.NewKeyFromURL(v)
		if err != nil || k.Type() != "totp" {
			return "", Invalid("totp", "is not a valid otpauth://totp/ URI")
		}
		if _, err := decodeSeed(k.Secret()); err != nil {
			return "", Invalid("totp", "the otpauth URI's secret is not valid base32")
		}
		return v, nil
	}
	seed := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(v))
	seed = strings.TrimRight(seed, "=")
	if _, err := decodeSeed(seed); err != nil {
		return "", Invalid("totp", "is not a valid base32 seed or otpauth:// URI")
	}
	return seed, nil
}

func decodeSeed(seed string) ([]byte, error) {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(seed, "=")))
	if err == nil && len(b) < 1 {
		return nil, base32.CorruptInputError(0)
	}
	return b, err
}

// TOTPCode computes the current code for a seed or otpauth:// URI at t,
// honouring the URI's digits, period and algorithm, and returns the seconds
// until it changes.
func TOTPCode(secret Secret, t time.Time) (code string, secondsRemaining int, err error) {
	v, err := NormalizeTOTP(secret.Reveal())
	if err != nil {
		return "", 0, err
	}
	opts := totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	seed := v
	if strings.HasPrefix(strings.ToLower(v), "otpauth://") {
		k, _ := otp.NewKeyFromURL(v)
		seed = strings.ToUpper(strings.TrimRight(k.Secret(), "="))
		if p := k.Period(); p > 0 {
			opts.Period = uint(p)
		}
		if d := k.Digits(); d == otp.DigitsEight {
			opts.Digits = d
		}
		opts.Algorithm = k.Algorithm()
	}
	code, err = totp.GenerateCodeCustom(seed, t, opts)
	if err != nil {
		return "", 0, Invalid("totp", "cannot compute a code from this seed")
	}
	period := int64(opts.Period)
	return code, int(period - t.Unix()%period), nil
}
