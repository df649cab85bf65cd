package vault

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxExcerpt bounds how much of a service's own message reaches a client
// or a log, counted after redaction.
const MaxExcerpt = 200

// minWholeMatch is the shortest secret removed wherever it occurs; shorter
// ones (an expiry month "7", say) are removed where they stand as a token
// of their own, since removing every "7" would garble any message.
const minWholeMatch = 3

// Redactor removes known secrets from text that may have come from a
// custom credential service, in every form a service is likely to echo
// them: raw, JSON-escaped (with and without HTML escaping), Go-quoted,
// URL-encoded (query and path), base64, hex, and in any letter case. The
// longest form is matched first, so a secret containing another (a token
// holding a CVV) is removed whole.
type Redactor struct {
	long  *regexp.Regexp // nil: nothing long enough
	bytes []string       // forms that are not valid UTF-8, ASCII-lower-cased
	short []string       // lower-cased secrets under minWholeMatch
}

// NewRedactor returns a Redactor for secrets; empty ones are ignored.
func NewRedactor(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var forms, short []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, s := range secrets {
		switch {
		case s == "":
			continue
		case utf8.RuneCountInString(s) < minWholeMatch:
			short = append(short, strings.ToLower(s))
			continue
		}
		add(s)
		if t := strings.TrimSpace(s); len(t) >= minWholeMatch {
			add(t)
		}
		add(jsonInner(s, true))
		add(jsonInner(s, false))
		add(strings.ReplaceAll(jsonInner(s, false), "/", `\/`))
		if q := strconv.Quote(s); len(q) >= 2 {
			add(q[1 : len(q)-1])
		}
		if q := strconv.QuoteToASCII(s); len(q) >= 2 {
			add(q[1 : len(q)-1])
		}
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		add(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
		add(base64.StdEncoding.EncodeToString([]byte(s)))
		add(base64.RawStdEncoding.EncodeToString([]byte(s)))
		add(base64.URLEncoding.EncodeToString([]byte(s)))
		add(base64.RawURLEncoding.EncodeToString([]byte(s)))
		add(hex.EncodeToString([]byte(s)))
	}
	r := &Redactor{short: short}
	// Longest first: Go's alternation prefers the earliest branch.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	var quoted []string
	for _, f := range forms {
		if utf8.ValidString(f) {
			quoted = append(quoted, regexp.QuoteMeta(f))
		} else {
			// regexp works on text: match these byte-wise instead.
			r.bytes = append(r.bytes, lowerASCII(f))
		}
	}
	if len(quoted) > 0 {
		r.long = regexp.MustCompile("(?i)(?:" + strings.Join(quoted, "|") + ")")
	}
	return r
}

func jsonInner(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s)
	out := strings.TrimSpace(b.String())
	if len(out) < 2 {
		return ""
	}
	return out[1 : len(out)-1]
}

// Redact returns msg with every secret replaced by [REDACTED]. A secret
// disguised so that it reads the same to a person — split by zero-width
// characters, written in full-width or other compatibility forms, or as
// HTML character references — is found too: when the text, normalised
// (references unescaped, NFKC, format characters removed), holds a
// secret, the normalised text is returned, redacted.
func (r *Redactor) Redact(msg string) string {
	if r == nil {
		return msg
	}
	out := r.redact(msg)
	if n := normalized(out); n != out {
		if rn := r.redact(n); rn != n {
			return rn
		}
	}
	return out
}

// normalized is s as a reader sees it: HTML character references
// unescaped, compatibility forms folded (NFKC: full-width letters become
// ASCII), and invisible format characters (zero-width spaces and joiners,
// soft hyphens, bidirectional marks) removed.
func normalized(s string) string {
	if isPlainASCII(s) {
		return s
	}
	s = norm.NFKC.String(html.UnescapeString(s))
	return strings.Map(func(c rune) rune {
		if unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, s)
}

// isPlainASCII reports text with nothing to normalise: ASCII without an
// HTML character reference.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '&' {
			return false
		}
	}
	return true
}

func (r *Redactor) redact(msg string) string {
	for _, f := range r.bytes {
		msg = replaceFoldASCII(msg, f)
	}
	if r.long != nil {
		msg = r.long.ReplaceAllLiteralString(msg, redacted)
	}
	for _, s := range r.short {
		msg = replaceStandalone(msg, s)
	}
	return msg
}

// Excerpt redacts msg, then makes it one printable line of at most
// MaxExcerpt characters: what may be shown of a service's own words.
func (r *Redactor) Excerpt(msg string) string {
	msg = r.Redact(msg)
	msg = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || c == utf8.RuneError {
			return ' '
		}
		return c
	}, msg)
	// Again: blanking control characters can join what they separated.
	msg = r.Redact(msg)
	return truncate(strings.TrimSpace(msg), MaxExcerpt)
}

// replaceStandalone replaces case-insensitive occurrences of the short
// secret s that are not part of a longer run of letters and digits.
func replaceStandalone(msg, s string) string {
	lower := strings.ToLower(msg)
	if len(lower) != len(msg) || !strings.Contains(lower, s) {
		if len(lower) != len(msg) && strings.Contains(lower, s) {
			// Case mapping changed byte offsets: fall back to the
			// conservative answer.
			return redacted
		}
		return msg
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], s)
		if j < 0 {
			b.WriteString(msg[i:])
			return b.String()
		}
		start, end := i+j, i+j+len(s)
		before, _ := utf8.DecodeLastRuneInString(msg[:start])
		after, _ := utf8.DecodeRuneInString(msg[end:])
		if (start == 0 || !isAlnum(before)) && (end == len(msg) || !isAlnum(after)) {
			b.WriteString(msg[i:start])
			b.WriteString(redacted)
		} else {
			b.WriteString(msg[i:end])
		}
		i = end
	}
}

// lowerASCII lower-cases ASCII letters only, keeping byte offsets.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// replaceFoldASCII replaces occurrences of the ASCII-lower-cased needle in
// msg, ignoring ASCII case.
func replaceFoldASCII(msg, needle string) string {
	lower := lowerASCII(msg)
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], needle)
		if j < 0 {
			if i == 0 {
				return msg
			}
			b.WriteString(msg[i:])
			return b.String()
		}
		b.WriteString(msg[i : i+j])
		b.WriteString(redacted)
		i += j + len(needle)
	}
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// MaxServiceDetail bounds the service's own words kept for a log line.
const MaxServiceDetail = 200

// minSharedRun is the shortest run of characters that, shared with a
// secret in any of its encodings, makes a service's words unfit to log.
const minSharedRun = 8

// longOpaqueRun matches a run of encoded-looking characters (base64, hex,
// URL-encoding) long enough to carry a secret in a form no list of
// encodings anticipates; human words never need one.
var longOpaqueRun = regexp.MustCompile(`[A-Za-z0-9+/=_%\-]{24,}`)

// ServiceDetail returns what of a service's error words may reach a log:
// msg redacted of every secret, made one line and cut to
// MaxServiceDetail characters — or "" when anything of it could still be
// a secret: a run of minSharedRun characters that occurs in any secret in
// play (raw, any case, or base64, hex or URL-encoded, at any alignment,
// whitespace ignored), or a long run of encoded-looking characters.
// Nothing a service says ever reaches a client.
func ServiceDetail(msg string, secrets ...string) string {
	out := NewRedactor(secrets...).Excerpt(msg)
	if out == "" || longOpaqueRun.MatchString(strings.Join(strings.Fields(msg), "")) || longOpaqueRun.MatchString(out) {
		return ""
	}
	seen := strings.ToLower(strings.Join(strings.Fields(normalized(msg)), ""))
	for _, s := range secrets {
		for _, f := range encodedForms(s) {
			f = strings.ToLower(f)
			for i := 0; i+minSharedRun <= len(f); i++ {
				if strings.Contains(seen, f[i:i+minSharedRun]) {
					return ""
				}
			}
		}
	}
	return out
}

// encodedForms lists s as a service may echo it, alone or inside a
// larger encoded text (base64 at each of its three alignments, of s and
// of "Bearer s").
func encodedForms(s string) []string {
	if len(s) < minSharedRun/2 {
		return nil
	}
	forms := []string{s, hex.EncodeToString([]byte(s)), url.QueryEscape(s), url.QueryEscape(url.QueryEscape(s)), url.PathEscape(s)}
	for _, v := range []string{s, "Bearer " + s} {
		for k := range 3 {
			b := append(make([]byte, k), v...)
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				e := enc.EncodeToString(b)
				if k > 0 {
					e = e[4:] // the first group mixes in the alignment bytes
				}
				forms = append(forms, strings.TrimRight(e, "="))
			}
		}
	}
	return forms
}
