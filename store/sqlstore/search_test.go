package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

// TestSearchTrigramsAreTheTextsOwn: for random texts and every kind of
// fragment cut from them (word edges, mid-word, separators, digits,
// accented letters), the fragment's trigrams are among PostgreSQL's
// show_trgm of the text, so the key index never hides a row the LIKE
// would match.
func TestSearchTrigramsAreTheTextsOwn(t *testing.T) {
	s := storetest.Open(t, testdb.Postgres)
	ctx := context.Background()
	var trgm string
	if err := s.SQLDB().QueryRowContext(ctx, `SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		WHERE e.extname = 'pg_trgm'`).Scan(&trgm); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "b", "c", "x", "y", "z", "0", "4", "2", " ", " ", "-", ".", "@", "_", "é", "ß", "\x1f", "'", `"`, `\`}
	checked := 0
	for range 400 {
		var b strings.Builder
		for range 5 + r.IntN(40) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		text := b.String()
		for range 5 {
			i := r.IntN(len(text))
			j := i + 1 + r.IntN(len(text)-i)
			frag := strings.ToValidUTF8(text[i:j], "")
			if frag == "" || !strings.Contains(text, frag) {
				continue
			}
			ts := sqlstore.SearchTrigrams(frag)
			if len(ts) == 0 {
				continue
			}
			var ok bool
			if err := s.SQLDB().QueryRowContext(ctx, "SELECT $1::text[] <@ "+trgm+".show_trgm($2)", literal(ts), text).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if !ok {
				var got string
				_ = s.SQLDB().QueryRowContext(ctx, "SELECT "+trgm+".show_trgm($1)::text", text).Scan(&got)
				t.Fatalf("fragment %q of %q: trigrams %q are not all in show_trgm %s", frag, text, ts, got)
			}
			checked++
		}
	}
	if checked < 500 {
		t.Fatalf("only %d fragments had trigrams", checked)
	}
	if got := fmt.Sprint(sqlstore.SearchTrigrams("label 42")); got != "[lab abe bel el    4  42]" {
		t.Fatalf(`trigrams of "label 42" = %s`, got)
	}
}

// TestSearchLookupKeysAreTheRowsOwn: for random texts (some mostly
// digits) and fragments cut from them, every key SearchLookup asks for —
// runs of digits, trigrams or characters — is among the keys PostgreSQL's
// index function of that kind computes for the text, so no path of the
// key index hides a row the LIKE would match; and each kind is taken.
func TestSearchLookupKeysAreTheRowsOwn(t *testing.T) {
	s := storetest.Open(t, testdb.Postgres)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 5))
	letters := []string{"a", "b", "x", "0", "4", " ", "-", "@", "é", "\x1f", "'", `"`, `\`, "{", ","}
	digits := []string{"1", "2", "7", "7", "7", "0", " ", "a"}
	used := map[string]int{}
	for i := range 600 {
		alphabet := letters
		if i%2 == 1 {
			alphabet = digits
		}
		var b strings.Builder
		for range 3 + r.IntN(30) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		text := b.String()
		start := r.IntN(len(text))
		frag := strings.ToValidUTF8(text[start:start+1+r.IntN(min(12, len(text)-start))], "")
		if frag == "" || !strings.Contains(text, frag) {
			continue
		}
		fn, keys := sqlstore.SearchLookup("org_7", frag)
		if keys == "" {
			continue
		}
		used[fn]++
		var ok bool
		if err := s.SQLDB().QueryRowContext(ctx, "SELECT $1::text[] <@ "+fn+"('org_7', $2)", keys, text).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("fragment %q of %q: keys %s are not all among %s of the text", frag, text, keys, fn)
		}
	}
	if used["credentials_search_grams"] < 50 || used["credentials_search_keys"] < 50 {
		t.Fatalf("paths taken: %v", used)
	}
	for frag, want := range map[string]string{"site 777777": "credentials_search_grams", "q": "credentials_search_grams", "label 42": "credentials_search_keys", "7777": "credentials_search_keys"} {
		if fn, _ := sqlstore.SearchLookup("org_7", frag); fn != want {
			t.Errorf("SearchLookup(%q) meets %s, want %s", frag, fn, want)
		}
	}
}

func literal(ts []string) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(t) + `"`
	}
	return "{" + strings.Join(q, ",") + "}"
}

// TestSearchBeyondTheNewestRows: a fragment matching only rows older than
// the newest 2,000 is found through the organization's trigram keys (the
// keys credvault computes meet the ones PostgreSQL indexed), a common one
// fills its page from the newest rows, and another organization's rows
// never appear.
func TestSearchBeyondTheNewestRows(t *testing.T) {
	s := storetest.Open(t, testdb.Postgres)
	ctx := context.Background()
	orgID, _ := newOrg(t, s)
	other, _ := newOrg(t, s)
	for _, o := range []string{orgID, other} {
		if _, err := s.SQLDB().ExecContext(ctx, `INSERT INTO credentials (id, organization_id, name, credential_type, vault_type, item_id,
			vault_source, username, totp_type, secret_label, version, created_at, modified_at)
			SELECT $1 || '_' || lpad(i::text, 5, '0'), $1, CASE WHEN i <= 3 THEN 'Old Bank ' || i ELSE 'Account ' || i END, 'secret', 'custom',
			       'item' || i, 'env', 'user' || i || '@example.com', '', 'label ' || (i % 50), 1,
			       timestamptz '2026-01-01' + i * interval '1 second', timestamptz '2026-01-01' + i * interval '1 second'
			  FROM generate_series(1, 2500) AS i`, o); err != nil {
			t.Fatal(err)
		}
	}
	for search, want := range map[string]int{"old bank": 3, "OLD BANK 2": 1, "label 7": 10, "nothing like it": 0, "k 1": 1} {
		rows, err := s.ListCredentials(ctx, orgID, store.CredentialFilter{Search: search, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != want {
			t.Errorf("search %q: %d rows, want %d", search, len(rows), want)
		}
		for _, r := range rows {
			if r.OrganizationID != orgID {
				t.Fatalf("search %q returned another organization's row %s", search, r.ID)
			}
		}
	}
	// A page beyond the first of the old matches: keyset order holds.
	rows, err := s.ListCredentials(ctx, orgID, store.CredentialFilter{Search: "old bank", Limit: 2, Offset: 1})
	if err != nil || len(rows) != 2 || rows[0].Name != "Old Bank 2" || rows[1].Name != "Old Bank 1" {
		t.Fatalf("second page of old matches: %+v %v", rows, err)
	}
}
