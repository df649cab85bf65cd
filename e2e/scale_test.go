package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store/sqlstore"
)

// TestScale measures list, search and paging at two organization sizes in
// one run (scripts/scale.sh; skipped unless CREDVAULT_SCALE_ROWS is set):
// an organization with CREDVAULT_SCALE_ROWS credentials and one with 10k,
// built with generate_series in a throw-away schema, each query repeated
// through the REST API, p50/p99 and the big/small ratio printed.
func TestScale(t *testing.T) {
	big, _ := strconv.Atoi(os.Getenv("CREDVAULT_SCALE_ROWS"))
	if big <= 0 {
		t.Skip("set CREDVAULT_SCALE_ROWS (scripts/scale.sh) to run the scale measurements")
	}
	const small = 10_000
	cfg := testConfig(t, testdb.Postgres)
	h := newHarnessWithConfig(t, cfg)
	ctx := context.Background()
	db := testStore(h.p).SQLDB()
	orgs := map[int]string{}
	keys := map[int]string{}
	for _, n := range []int{small, big} {
		orgID, key := h.org(fmt.Sprintf("scale %d", n))
		orgs[n], keys[n] = orgID, key
		start := time.Now()
		// Rows newest first by created_at, named "Site N <md5>": the word
		// "site" is in every row, N is one row's number, the md5 makes
		// every name unique (a fragment of it is rare); the label's
		// "teamK" is in 1 % of the rows, "label 42" in about 1 %.
		_, err := db.ExecContext(ctx, `INSERT INTO credentials (id, organization_id, name, credential_type, vault_type, item_id,
			vault_source, username, totp_type, secret_label, version, created_at, modified_at)
			SELECT 'cred_scale_' || $2::text || '_' || lpad(i::text, 8, '0'), $1, 'Site ' || i || ' ' || md5(i::text || $2::text), 'secret', 'custom',
			       'item' || i, 'env', 'user' || i || '@example.com', '', 'label ' || (i % 97) || ' team' || (i % 100), 1,
			       timestamptz '2026-01-01' + i * interval '1 second', timestamptz '2026-01-01' + i * interval '1 second'
			  FROM generate_series(1, $2::int) AS i`, orgID, n)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("inserted %d rows in %v", n, time.Since(start).Round(time.Millisecond))
	}
	if _, err := db.ExecContext(ctx, "ANALYZE credentials"); err != nil {
		t.Fatal(err)
	}
	// A rare fragment: 10 characters of one name in each organization.
	rare := map[int]string{}
	for n, org := range orgs {
		var name string
		if err := db.QueryRowContext(ctx, "SELECT name FROM credentials WHERE organization_id = $1 AND id LIKE '%00000777'", org).Scan(&name); err != nil {
			t.Fatal(err)
		}
		rare[n] = strings.Fields(name)[2][5:15]
	}
	// A cursor half way down each organization.
	cursor := map[int]string{}
	for n, org := range orgs {
		var id string
		var at time.Time
		if err := db.QueryRowContext(ctx, `SELECT id, created_at FROM credentials WHERE organization_id = $1 AND deleted_at IS NULL
			ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`, org, n/2).Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		cursor[n] = "c1." + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10)+"."+id))
	}
	// The plans, executed: EXPLAIN (ANALYZE, BUFFERS) of the statements
	// the store sends for a search — the newest rows first, then, when
	// they do not fill the page, the organization's trigram keys.
	const expr = `lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four)`
	explain := func(n int, fragment string) string {
		org := orgs[n]
		like := expr + ` LIKE '%` + fragment + `%' ESCAPE '\'`
		newest := `SELECT * FROM (SELECT * FROM credentials WHERE organization_id = '` + org + `' AND deleted_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT 2000) AS newest WHERE ` + like + ` ORDER BY created_at DESC, id DESC LIMIT 10`
		keyed := `SELECT * FROM credentials WHERE organization_id = '` + org + `' AND deleted_at IS NULL AND ` + like
		if fn, keys := sqlstore.SearchLookup(org, fragment); keys != "" {
			keyed += ` AND ` + fn + `(organization_id, ` + expr + `) @> '` + keys + `'::text[]`
		}
		keyed = `SELECT * FROM (` + keyed + ` LIMIT 2147483647) AS matched ORDER BY created_at DESC, id DESC LIMIT 10`
		var plan strings.Builder
		// As the store sends them: in a transaction with no parallel workers.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SET LOCAL max_parallel_workers_per_gather = 0"); err != nil {
			t.Fatal(err)
		}
		for i, q := range []string{newest, keyed} {
			var found int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+") AS page").Scan(&found); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&plan, "    -- %d. %s: %d rows\n", i+1, []string{"the newest 2,000 rows", "the organization's search keys"}[i], found)
			rows, err := tx.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var line string
				_ = rows.Scan(&line)
				plan.WriteString("    " + line + "\n")
			}
			rows.Close()
			if found == 10 {
				plan.WriteString("    -- the page is full: the second statement is not sent\n")
				break
			}
		}
		return plan.String()
	}
	// Every class of fragment, each matching as many rows at both sizes
	// (or the same share of them).
	fragments := []struct {
		class    string
		fragment func(n int) string
	}{
		{"a word in every row", func(int) string { return "site" }},
		{"a word in 1 % of rows", func(int) string { return "team42" }},
		{"a rare word (10 characters of one md5)", func(n int) string { return rare[n] }},
		{"a word in every row and a rare one", func(n int) string { return "site " + sevens(n) }},
		{"a number (one row's, and in its username)", sevens},
		{"a single character in no row", func(int) string { return "q" }},
		{"a label match (about 1 % of rows)", func(int) string { return "label 42" }},
	}
	for _, f := range fragments {
		for _, n := range []int{small, big} {
			t.Logf("EXPLAIN (ANALYZE, BUFFERS), %s %q, %d rows:\n%s", f.class, f.fragment(n), n, explain(n, f.fragment(n)))
		}
	}

	measure := func(n int, query string) (p50, p99 time.Duration) {
		var ds []time.Duration
		for i := range 220 {
			start := time.Now()
			req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/credentials"+query, nil)
			req.Header.Set("x-api-key", keys[n])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s = %d", query, resp.StatusCode)
			}
			if i >= 20 { // warm-up
				ds = append(ds, time.Since(start))
			}
		}
		slices.Sort(ds)
		return ds[len(ds)/2], ds[len(ds)*99/100]
	}
	type goal struct {
		p50Ratio float64       // of the big organization's p50 to the small one's (0: none)
		bigP99   time.Duration // of the big organization (0: none)
	}
	cases := []struct {
		name  string
		query func(n int) string
		goal  goal
	}{
		{"first page (page_size=10)", func(int) string { return "?page_size=10" }, goal{}},
		{"deepest numbered page (offset 10,000)", func(int) string { return "?page=1001&page_size=10" }, goal{0, 20 * time.Millisecond}},
		{"cursor page half way down", func(n int) string { return "?page_size=10&cursor=" + cursor[n] }, goal{}},
	}
	for _, f := range fragments {
		cases = append(cases, struct {
			name  string
			query func(n int) string
			goal  goal
		}{"search, " + f.class, func(n int) string { return "?page_size=10&search=" + url.QueryEscape(f.fragment(n)) }, goal{2, 20 * time.Millisecond}})
	}
	var report strings.Builder
	fmt.Fprintf(&report, "| query | %d rows p50 / p99 | %d rows p50 / p99 | ratio of p50 | ratio of p99 | goal |\n| --- | ---: | ---: | ---: | ---: | --- |\n", small, big)
	missed := 0
	for _, c := range cases {
		// Interleave the sizes, 3 rounds each, keep the medians.
		var s50, s99, b50, b99 []time.Duration
		for range 3 {
			p50, p99 := measure(small, c.query(small))
			s50, s99 = append(s50, p50), append(s99, p99)
			p50, p99 = measure(big, c.query(big))
			b50, b99 = append(b50, p50), append(b99, p99)
		}
		med := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
		r50, r99 := float64(med(b50))/float64(med(s50)), float64(med(b99))/float64(med(s99))
		var goals []string
		if c.goal.p50Ratio > 0 {
			goals = append(goals, fmt.Sprintf("p50 ratio ≤ %g× %s", c.goal.p50Ratio, tick(r50 <= c.goal.p50Ratio, &missed)))
		}
		if c.goal.bigP99 > 0 {
			goals = append(goals, fmt.Sprintf("p99 at %d ≤ %v %s", big, c.goal.bigP99, tick(med(b99) <= c.goal.bigP99, &missed)))
		}
		fmt.Fprintf(&report, "| %s | %v / %v | %v / %v | %.2f× | %.2f× | %s |\n", c.name, med(s50).Round(10*time.Microsecond), med(s99).Round(10*time.Microsecond),
			med(b50).Round(10*time.Microsecond), med(b99).Round(10*time.Microsecond), r50, r99, strings.Join(goals, "; "))
	}
	t.Logf("scale measurements (REST, loopback):\n%s", report.String())
	if missed > 0 {
		t.Errorf("%d goal(s) missed", missed)
	}
}

// sevens is the largest number of sevens alone not above n (7777 for
// 10,000, 777777 for 1,000,000): one row's number at each size, and no
// other row's number holds it.
func sevens(n int) string {
	s := "7"
	for v, _ := strconv.Atoi(s + "7"); v <= n; v, _ = strconv.Atoi(s + "7") {
		s += "7"
	}
	return s
}

func tick(ok bool, missed *int) string {
	if ok {
		return "✓"
	}
	*missed++
	return "✗"
}
