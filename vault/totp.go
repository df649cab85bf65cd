package vault

import (
	"encoding/base32"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// parseTOTP validates a base32 seed or an otpauth://totp/ URI and returns
// its canonical form, the bare seed, and the code parameters (the URI's
// period, digits and algorithm; RFC 6238 defaults for a seed).
func parseTOTP(v string) (canonical, seed string, opts totp.ValidateOpts, err error) {
	opts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(strings.ToLower(v), "otpauth://") {
		k, kerr := otp.NewKeyFromURL(v)
		if kerr != nil || k.Type() != "totp" {
			return "", "", opts, problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "is not a valid otpauth://totp/ URI")
		}
		seed = strings.ToUpper(strings.TrimRight(k.Secret(), "="))
		if !validSeed(seed) {
			return "", "", opts, problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "the otpauth URI's secret is not valid base32")
		}
		u, uerr := url.Parse(k.URL())
		if uerr != nil {
			return "", "", opts, problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "is not a valid otpauth://totp/ URI")
		}
		if err := checkOTPParams(u); err != nil {
			return "", "", opts, err
		}
		if p := k.Period(); p > 0 {
			opts.Period = uint(p)
		}
		opts.Digits = k.Digits()
		opts.Algorithm = k.Algorithm()
		return v, seed, opts, nil
	}
	seed = strings.TrimRight(strings.ToUpper(seedSeparators.Replace(v)), "=")
	if !validSeed(seed) {
		return "", "", opts, problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "is not a valid base32 seed or otpauth:// URI")
	}
	return seed, seed, opts, nil
}

// checkOTPParams accepts only what authenticators agree on: period 1–300
// seconds, 6 to 8 digits, SHA1, SHA256 or SHA512 (each optional).
func checkOTPParams(u *url.URL) error {
	q := u.Query()
	if v := q.Get("period"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 300 {
			return problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "the otpauth URI's period must be 1 to 300 seconds")
		}
	}
	if v := q.Get("digits"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 6 || n > 8 {
			return problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "the otpauth URI's digits must be 6, 7 or 8")
		}
	}
	switch strings.ToUpper(q.Get("algorithm")) {
	case "", "SHA1", "SHA256", "SHA512":
	default:
		return problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "the otpauth URI's algorithm must be SHA1, SHA256 or SHA512")
	}
	return nil
}

// seedSeparators are what people type inside a seed.
var seedSeparators = strings.NewReplacer(" ", "", "-", "")

func validSeed(seed string) bool {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(seed)
	return err == nil && len(b) > 0
}

// NormalizeTOTP validates a TOTP secret — a base32 seed or an otpauth://
// URI — and returns its canonical form: an upper-case, unpadded base32
// seed without spaces, or the URI unchanged once its seed is checked.
func NormalizeTOTP(v string) (string, error) {
	canonical, _, _, err := parseTOTP(v)
	return canonical, err
}

// TOTPCode computes the current code for a seed or otpauth:// URI at t,
// honouring the URI's digits, period and algorithm, and returns the seconds
// until it changes.
func TOTPCode(secret Secret, t time.Time) (code string, secondsRemaining int, err error) {
	v := secret.Reveal()
	if tv := strings.TrimSpace(v); len(tv) < 8 || !strings.EqualFold(tv[:8], "otpauth:") {
		// A bare seed, the usual case: decoded and hashed without
		// allocating (hotp).
		if code, ok := seedCode(v, uint64(t.Unix()/30)); ok {
			return code, int(30 - t.Unix()%30), nil
		}
	}
	_, seed, opts, err := parseTOTP(v)
	if err != nil {
		return "", 0, err
	}
	key, derr := seedEncoding.DecodeString(seed)
	if derr != nil || len(key) == 0 {
		return "", 0, problem.InvalidCode(problem.CodeInvalidAuthenticatorKey, "totp", "cannot compute a code from this seed")
	}
	period := int64(opts.Period)
	return hotp(key, uint64(t.Unix()/period), opts.Algorithm, opts.Digits.Length()), int(period - t.Unix()%period), nil
}
