package sqlstore

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// searchTrigrams are trigrams that pg_trgm's show_trgm yields for every
// text holding the lower-cased fragment s, so a row's search keys contain
// them whenever it can match: pg_trgm splits text into words of
// alphanumerics, pads each with two spaces before and one after, and
// takes every 3-character window. A word of s is padded only on a side
// where s itself shows the word's end (an ASCII separator beside it); at
// the fragment's edges the text may continue the word. Characters beyond
// ASCII (pg_trgm may hash their trigrams, and its idea of a letter there
// follows the locale) neither join a trigram nor count as a separator.
func searchTrigrams(s string) []string {
	type class int
	const (
		word class = iota
		sep
		unknown
	)
	classOf := func(c byte) class {
		switch {
		case c >= 0x80:
			return unknown
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			return word
		case c >= 'A' && c <= 'Z':
			return unknown // s is lower-cased; an upper-case letter is not expected
		}
		return sep
	}
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(s); {
		if classOf(s[i]) != word {
			i++
			continue
		}
		j := i
		for j < len(s) && classOf(s[j]) == word {
			j++
		}
		w := s[i:j]
		if i > 0 && classOf(s[i-1]) == sep {
			w = "  " + w
		}
		if j < len(s) && classOf(s[j]) == sep {
			w += " "
		}
		for k := 0; k+3 <= len(w); k++ {
			if t := w[k : k+3]; !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
		i = j
	}
	return out
}

// SearchKeys is the organization's search keys for the lower-cased
// fragment s, as the PostgreSQL text[] literal ListCredentials matches
// against credentials_search_keys (migration 00011), or "" when s has no
// trigram (then only the LIKE applies). EXPLAIN of a search uses it.
func SearchKeys(orgID, s string) string {
	ts := searchTrigrams(s)
	if len(ts) == 0 {
		return ""
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	sum := md5.Sum([]byte(orgID)) // the keys' organization prefix, as migration 00011 writes it
	prefix := hex.EncodeToString(sum[:4]) + ":"
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(esc.Replace(prefix + t))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
