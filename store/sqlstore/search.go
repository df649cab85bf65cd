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

// digitRuns are the keys of migration 00013 that every text holding the
// fragment s holds for its numbers: each run of 5 digits inside a run of
// 5 digits or more of s.
func digitRuns(s string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		for k := i; k+5 <= j; k++ {
			if g := s[k : k+5]; !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
		i = max(j, i+1)
	}
	return out
}

// characters are the keys of migration 00013 that every text holding the
// lower-cased fragment s holds for its characters: the printable ASCII
// ones other than upper-case letters (PostgreSQL's lower() of the row
// decides those, and characters beyond ASCII, not Go's).
func characters(s string) []string {
	var out []string
	seen := map[byte]bool{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || (c >= 'A' && c <= 'Z') || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, s[i:i+1])
	}
	return out
}

// SearchLookup is how ListCredentials narrows a search for the
// lower-cased fragment s to the organization's rows that can hold it: the
// key function of the index to meet (credentials_search_grams of
// migration 00013 or credentials_search_keys of 00011) and the fragment's
// keys, prefixed with the organization, as a PostgreSQL text[] literal;
// "" when s has no key at all (then only the LIKE applies). A fragment
// holding a number of 5 digits or more uses its runs of 5 digits (a few
// rows even when each of its trigrams is in thousands), any other its
// trigrams, and one without a trigram (1 or 2 characters) its characters. EXPLAIN of a search uses it.
func SearchLookup(orgID, s string) (fn, keys string) {
	fn, ts := "credentials_search_grams", digitRuns(s)
	if len(ts) == 0 {
		fn, ts = "credentials_search_keys", searchTrigrams(s)
	}
	if len(ts) == 0 {
		fn, ts = "credentials_search_grams", characters(s)
	}
	if len(ts) == 0 {
		return "", ""
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	sum := md5.Sum([]byte(orgID)) // the keys' organization prefix, as the migrations write it
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
	return fn, b.String()
}
