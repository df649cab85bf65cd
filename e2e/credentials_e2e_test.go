package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/vault"
)

const (
	pwSecret   = "Pw-secret-4d1c9e0b77"
	totpSeed   = "JBSWY3DPEHPK3PXP"
	cardNumber = "4242424242424242"
	cardCVV    = "987"
	apiSecret  = "sk_live_9c8b7a6f5e4d3c2b"
)

func passwordBody(name string) map[string]any {
	return map[string]any{"name": name, "credential_type": "password", "credential": map[string]any{
		"username": "alice@example.com", "password": pwSecret, "totp": totpSeed, "totp_type": "authenticator",
		"totp_identifier": "alice@example.com", "metadata": map[string]string{"site": "bank"},
	}}
}

func cardBody(name string) map[string]any {
	return map[string]any{"name": name, "credential_type": "credit_card", "vault_type": "custom", "credential": map[string]any{
		"card_holder_name": "Alice Smith", "card_number": cardNumber, "card_exp_month": "12", "card_exp_year": "2031",
		"card_cvv": cardCVV, "card_brand": "Visa",
		"billing_address": map[string]string{"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country_code": "US"},
		"billing_email":   "billing@example.com",
	}}
}

func secretBody(name, label string) map[string]any {
	return map[string]any{"name": name, "credential_type": "secret", "credential": map[string]any{
		"secret_value": apiSecret, "secret_label": label}}
}

var allSecrets = []string{pwSecret, totpSeed, cardNumber, apiSecret, svcToken, "Alice Smith", "1 Main St"}

// scrub hides the test's secrets in failure messages: a failing test must
// not print the secret it caught.
func scrub(s string) string {
	for _, sec := range allSecrets {
		s = strings.ReplaceAll(s, sec, "<secret>")
	}
	return s
}

// configured returns a harness with one organization whose custom service
// is a fake.
func configured(t *testing.T, kind testdb.Kind) (*harness, *fakeservice.Service, string, string) {
	t.Helper()
	h := newHarness(t, kind)
	svc := fakeservice.New(t, svcToken)
	orgID, key := h.org("Acme")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	return h, svc, orgID, key
}

func assertNoSecretIn(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(string(b), s) {
			t.Fatalf("%s contains a secret: %s", what, scrub(string(b)))
		}
	}
}

func TestCredentialsCRUD(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h, svc, _, key := configured(t, kind)
			_, keyB := h.org("Other")

			// Create each type; the service receives the seed's wire shape.
			pw := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank login"))
			if pw.status != 201 {
				t.Fatalf("create password = %d %s", pw.status, pw.body)
			}
			wire := svc.LastBody()
			want := map[string]any{"name": "Bank login", "type": "password", "username": "alice@example.com",
				"password": pwSecret, "totp": totpSeed, "totp_type": "authenticator", "metadata": map[string]any{"site": "bank"}}
			if fmt.Sprint(wire) != fmt.Sprint(want) {
				t.Fatalf("service received %s\nwant %s", scrub(fmt.Sprint(wire)), scrub(fmt.Sprint(want)))
			}
			card := h.do("POST", "/v1/credentials/", key, cardBody("Company Visa"))
			if card.status != 201 {
				t.Fatalf("create card = %d %s", card.status, card.body)
			}
			if b := svc.LastBody(); b["card_number"] != cardNumber || b["billing_address"].(map[string]any)["city"] != "Springfield" {
				t.Fatalf("card wire = %s", scrub(fmt.Sprint(b)))
			}
			sec := h.do("POST", "/api/v1/credentials", key, secretBody("Stripe key", "stripe-prod"))
			if sec.status != 201 {
				t.Fatalf("create secret = %d %s", sec.status, sec.body)
			}
			for _, r := range []response{pw, card, sec} {
				assertNoSecretIn(t, "create response", r.body)
			}
			pv := pw.json(t)
			if pv["vault_type"] != "custom" || pv["credential_type"] != "password" ||
				fmt.Sprint(pv["credential"]) != "map[totp_identifier:alice@example.com totp_type:authenticator username:alice@example.com]" {
				t.Fatalf("password view = %v", pv)
			}
			if cv := card.json(t)["credential"]; fmt.Sprint(cv) != "map[brand:Visa last_four:4242]" {
				t.Fatalf("card view = %v", cv)
			}
			if sv := sec.json(t)["credential"]; fmt.Sprint(sv) != "map[secret_label:stripe-prod]" {
				t.Fatalf("secret view = %v", sv)
			}
			pwID := pv["credential_id"].(string)
			secID := sec.json(t)["credential_id"].(string)

			// Get and list, newest first.
			if r := h.do("GET", "/api/v1/credentials/"+pwID, key, nil); r.status != 200 || r.json(t)["name"] != "Bank login" {
				t.Fatalf("get = %d %s", r.status, r.body)
			}
			var list []map[string]any
			r := h.do("GET", "/api/v1/credentials", key, nil)
			if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 3 || list[0]["name"] != "Stripe key" || list[2]["name"] != "Bank login" {
				t.Fatalf("list = %d %s", r.status, r.body)
			}

			// Update replaces the secret and removes the old item.
			itemsBefore := svc.Items()
			upd := secretBody("Stripe key v2", "stripe-prod")
			upd["credential"].(map[string]any)["secret_value"] = apiSecret + "-rotated"
			r = h.do("POST", "/api/v1/credentials/"+secID+"/update", key, upd)
			if r.status != 200 || r.json(t)["name"] != "Stripe key v2" || r.json(t)["credential_id"] != secID {
				t.Fatalf("update = %d %s", r.status, r.body)
			}
			if svc.Items() != itemsBefore {
				t.Fatalf("items after update = %d, want %d (old one deleted)", svc.Items(), itemsBefore)
			}
			if svc.LastBody()["secret_value"] != apiSecret+"-rotated" {
				t.Fatal("the service did not receive the new secret")
			}

			// Another organization gets 404 on every route.
			for _, rt := range [][2]string{
				{"GET", "/api/v1/credentials/" + pwID}, {"POST", "/api/v1/credentials/" + pwID + "/update"},
				{"POST", "/api/v1/credentials/" + pwID + "/delete"}, {"DELETE", "/api/v1/credentials/" + pwID},
				{"GET", "/api/v1/credentials/" + pwID + "/totp-code"},
			} {
				var body any
				if strings.HasSuffix(rt[1], "/update") {
					body = passwordBody("x")
				}
				if r := h.do(rt[0], rt[1], keyB, body); r.status != 404 && !(r.status == 400 && strings.Contains(r.detail(), "configured")) {
					t.Errorf("other org %s %s = %d %s, want 404", rt[0], rt[1], r.status, r.body)
				}
			}
			var otherList []any
			_ = json.Unmarshal(h.do("GET", "/api/v1/credentials", keyB, nil).body, &otherList)
			if otherList == nil || len(otherList) != 0 {
				t.Fatalf("other org list = %v, want []", otherList)
			}

			// Delete removes the item, then the row; both delete routes.
			items := svc.Items()
			if r := h.do("POST", "/api/v1/credentials/"+pwID+"/delete", key, nil); r.status != 204 {
				t.Fatalf("delete = %d %s", r.status, r.body)
			}
			if svc.Items() != items-1 {
				t.Fatal("the service item was not deleted")
			}
			if r := h.do("GET", "/api/v1/credentials/"+pwID, key, nil); r.status != 404 || r.detail() != "credential not found" {
				t.Fatalf("get after delete = %d %s", r.status, r.body)
			}
			if r := h.do("DELETE", "/api/v1/credentials/"+secID, key, nil); r.status != 204 {
				t.Fatalf("DELETE = %d", r.status)
			}
			for _, s := range allSecrets {
				if strings.Contains(h.logs.String(), s) {
					t.Fatal("logs contain a secret")
				}
			}
			h.assertNoSecret(allSecrets...)
		})
	}
}

func TestCredentialsGoAPI(t *testing.T) {
	t.Parallel()
	h, _, orgID, key := configured(t, testdb.Postgres)
	id := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	got, err := h.p.Credentials.GetWithSecret(context.Background(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Credential.Password
	if p == nil || p.Password.Reveal() != pwSecret || p.TOTP.Reveal() != totpSeed || p.TOTPIdentifier != "alice@example.com" || got.Credential.Name != "Bank" {
		t.Fatalf("GetWithSecret did not return the secret and metadata")
	}
	if strings.Contains(fmt.Sprintf("%v %+v", got, got), pwSecret) {
		t.Fatal("printing a credential with its secret shows the secret")
	}
}

func TestCredentialsListing(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			testListing(t, kind)
		})
	}
}

func testListing(t *testing.T, kind testdb.Kind) {
	h, _, _, key := configured(t, kind)
	names := []string{"Alpha 100%", "alpha_b", "Beta", "Gamma", "delta"}
	for _, n := range names {
		if r := h.do("POST", "/api/v1/credentials", key, secretBody(n, "lbl-"+strings.ToLower(n))); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	if r := h.do("POST", "/api/v1/credentials", key, cardBody("Card")); r.status != 201 {
		t.Fatal(r.status)
	}
	list := func(q string) []string {
		r := h.do("GET", "/api/v1/credentials"+q, key, nil)
		if r.status != 200 {
			t.Fatalf("list %s = %d %s", q, r.status, r.body)
		}
		var vs []map[string]any
		_ = json.Unmarshal(r.body, &vs)
		out := []string{}
		for _, v := range vs {
			out = append(out, v["name"].(string))
		}
		return out
	}
	cases := []struct{ q, want string }{
		{"", "[Card delta Gamma Beta alpha_b Alpha 100%]"},
		{"?page=1&page_size=2", "[Card delta]"},
		{"?page=2&page_size=2", "[Gamma Beta]"},
		{"?page=4&page_size=2", "[]"},
		{"?credential_type=credit_card", "[Card]"},
		{"?search=ALPHA", "[alpha_b Alpha 100%]"},
		{"?search=%25", "[Alpha 100%]"}, // a literal %
		{"?search=_", "[alpha_b]"},      // a literal _
		{"?search=visa", "[Card]"},      // brand
		{"?search=4242", "[Card]"},      // last four
		{"?search=lbl-gam", "[Gamma]"},  // secret label
		{"?search=a&credential_type=secret&page_size=1", "[delta]"},
	}
	for _, tc := range cases {
		if got := fmt.Sprint(list(tc.q)); got != tc.want {
			t.Errorf("list%s = %s, want %s", tc.q, got, tc.want)
		}
	}
	for _, q := range []string{"?page=0", "?page=-1", "?page_size=0", "?page_size=1001", "?page=x", "?credential_type=ssh"} {
		if r := h.do("GET", "/api/v1/credentials"+q, key, nil); r.status != 400 || r.detail() == "" {
			t.Errorf("list%s = %d %s, want 400", q, r.status, r.body)
		}
	}
}

func TestCredentialValidation(t *testing.T) {
	t.Parallel()
	h, svc, _, key := configured(t, testdb.SQLite)
	mut := func(body map[string]any, f func(c map[string]any)) map[string]any {
		f(body["credential"].(map[string]any))
		return body
	}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown type", map[string]any{"name": "x", "credential_type": "ssh", "credential": map[string]any{}}, "credential_type"},
		{"vault type", func() any { b := secretBody("x", ""); b["vault_type"] = "bitwarden"; return b }(), "vault_type"},
		{"empty name", secretBody("", ""), "name"},
		{"missing credential", map[string]any{"name": "x", "credential_type": "secret"}, "credential"},
		{"unknown field", mut(secretBody("x", ""), func(c map[string]any) { c["oops"] = 1 }), `unknown field "oops"`},
		{"wrong field type", mut(cardBody("x"), func(c map[string]any) { c["card_exp_month"] = 12 }), "credential.card_exp_month"},
		{"empty password", mut(passwordBody("x"), func(c map[string]any) { c["password"] = "" }), "password"},
		{"bad totp type", mut(passwordBody("x"), func(c map[string]any) { c["totp_type"] = "sms" }), "totp_type"},
		{"bad totp seed", mut(passwordBody("x"), func(c map[string]any) { c["totp"] = "not-base32-" + pwSecret }), "totp"},
		{"empty card number", mut(cardBody("x"), func(c map[string]any) { c["card_number"] = "" }), "card_number"},
		{"empty card month", mut(cardBody("x"), func(c map[string]any) { c["card_exp_month"] = "" }), "card_exp_month"},
		{"missing card cvv", mut(cardBody("x"), func(c map[string]any) { delete(c, "card_cvv") }), "card_cvv"},
		{"empty secret", mut(secretBody("x", ""), func(c map[string]any) { c["secret_value"] = "" }), "secret_value"},
		{"unknown top-level", func() any { b := secretBody("x", ""); b["extra"] = true; return b }(), `unknown field "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1/credentials", key, tc.body)
			if r.status != 400 || !strings.Contains(r.detail(), tc.field) {
				t.Fatalf("= %d %s, want 400 naming %s", r.status, r.body, tc.field)
			}
			assertNoSecretIn(t, "validation error", r.body)
		})
	}
	if svc.Items() != 0 {
		t.Fatalf("invalid input reached the service (%d items)", svc.Items())
	}
}

func TestTOTPCode(t *testing.T) {
	t.Parallel()
	h, _, _, key := configured(t, testdb.Postgres)
	id := h.do("POST", "/api/v1/credentials", key, passwordBody("Bank")).json(t)["credential_id"].(string)
	before := time.Now()
	r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("totp = %d %s (Cache-Control %q)", r.status, r.body, r.header.Get("Cache-Control"))
	}
	m := r.json(t)
	code := m["code"].(string)
	okCodes := map[string]bool{}
	for _, at := range []time.Time{before, time.Now()} {
		c, _, _ := vault.TOTPCode(vault.NewSecret(totpSeed), at)
		okCodes[c] = true
	}
	if !okCodes[code] || m["seconds_remaining"].(float64) < 1 || m["seconds_remaining"].(float64) > 30 {
		t.Fatalf("totp answer %v is not the current code", m)
	}
	nb := passwordBody("No TOTP")
	nb["credential"].(map[string]any)["totp_type"] = "email"
	nid := h.do("POST", "/api/v1/credentials", key, nb).json(t)["credential_id"].(string)
	sid := h.do("POST", "/api/v1/credentials", key, secretBody("S", "")).json(t)["credential_id"].(string)
	for _, id := range []string{nid, sid} {
		if r := h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil); r.status != 400 || !strings.Contains(r.detail(), "authenticator") {
			t.Fatalf("totp of non-authenticator = %d %s", r.status, r.body)
		}
	}
}

func TestCredentialFaults(t *testing.T) {
	t.Parallel()
	h, svc, orgID, key := configured(t, testdb.Postgres)
	db := testStore(h.p).SQLDB()
	mode := make(chan string, 1)
	setMode := func(m string) {
		select {
		case <-mode:
		default:
		}
		mode <- m
	}
	current := func() string {
		m := <-mode
		mode <- m
		return m
	}
	setMode("ok")
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		switch current() {
		case "500":
			w.WriteHeader(500)
			w.Write([]byte(`{"detail":"vault backend exploded"}`))
			return true
		case "no-id":
			if r.Method == http.MethodPost {
				w.Write([]byte(`{"status":"ok"}`))
				return true
			}
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		case "delete-500":
			if r.Method == http.MethodDelete {
				w.WriteHeader(500)
				return true
			}
		case "concurrent":
			if r.Method == http.MethodPost {
				// Another writer changes the row while the new item is created.
				if _, err := db.Exec("UPDATE credentials SET version = version + 1 WHERE organization_id = $1", orgID); err != nil {
					t.Error(err)
				}
			}
		}
		return false
	}
	existing := h.do("POST", "/api/v1/credentials", key, secretBody("Keep", "")).json(t)["credential_id"].(string)
	rowsBefore := func() int {
		var n int
		_ = db.QueryRow("SELECT COUNT(*) FROM credentials WHERE deleted_at IS NULL").Scan(&n)
		return n
	}

	cases := []struct {
		mode, method, path string
		body               any
		status             int
		detail             string
	}{
		{"500", "POST", "/api/v1/credentials", secretBody("x", ""), 502, "Custom credential service returned HTTP 500 on create: the service failed"},
		{"no-id", "POST", "/api/v1/credentials", secretBody("x", ""), 502, `no "id"`},
		{"slow", "POST", "/api/v1/credentials", secretBody("x", ""), 503, "unreachable"},
		{"500", "GET", "/api/v1/credentials/" + existing + "/totp-code", nil, 400, "authenticator"},
		{"concurrent", "POST", "/api/v1/credentials/" + existing + "/update", secretBody("Changed", ""), 409, "concurrently"},
	}
	for _, tc := range cases {
		setMode(tc.mode)
		items, rows := svc.Items(), rowsBefore()
		r := h.do(tc.method, tc.path, key, tc.body)
		setMode("ok")
		if r.status != tc.status || !strings.Contains(r.detail(), tc.detail) {
			t.Errorf("%s %s %s = %d %s, want %d with %q", tc.mode, tc.method, tc.path, r.status, r.body, tc.status, tc.detail)
		}
		if svc.Items() != items || rowsBefore() != rows {
			t.Errorf("%s: items %d→%d rows %d→%d: half-written state", tc.mode, items, svc.Items(), rows, rowsBefore())
		}
	}
	if r := h.do("GET", "/api/v1/credentials/"+existing, key, nil); r.status != 200 || r.json(t)["name"] != "Keep" {
		t.Fatalf("the credential changed through failures: %d %s", r.status, r.body)
	}

	// A failing row write after the item was created deletes the item.
	if _, err := db.Exec(`CREATE FUNCTION fail_write() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql;
		CREATE TRIGGER fail_insert BEFORE INSERT OR UPDATE ON credentials FOR EACH ROW EXECUTE FUNCTION fail_write();`); err != nil {
		t.Fatal(err)
	}
	items := svc.Items()
	for _, rq := range []struct{ method, path string }{{"POST", "/api/v1/credentials"}, {"POST", "/api/v1/credentials/" + existing + "/update"}} {
		r := h.do(rq.method, rq.path, key, secretBody("x", ""))
		if r.status != 500 || strings.Contains(string(r.body), "disk full") {
			t.Fatalf("row write failure on %s = %d %s, want an opaque 500", rq.path, r.status, r.body)
		}
		if svc.Items() != items {
			t.Fatalf("row write failure on %s left an orphaned item", rq.path)
		}
	}
	if _, err := db.Exec("DROP TRIGGER fail_insert ON credentials"); err != nil {
		t.Fatal(err)
	}

	// A delete the service refuses: the row goes and the deletion is
	// recorded (204); once the service recovers the worker deletes the item.
	setMode("delete-500")
	items = svc.Items()
	if r := h.do("DELETE", "/api/v1/credentials/"+existing, key, nil); r.status != 204 {
		t.Fatalf("delete against a refusing service = %d %s, want 204", r.status, r.body)
	}
	if svc.Items() != items {
		t.Fatal("the refused delete removed the item")
	}
	if ds, _ := testStore(h.p).ListDeletions(t.Context(), 10); len(ds) != 1 || !strings.Contains(ds[0].LastError, "HTTP 500 on delete") {
		t.Fatalf("outbox = %+v, want the refused deletion with its error", ds)
	}
	setMode("ok")
	waitFor0Pending(t, h.p, 10*time.Second, true)
	if svc.Items() != items-1 {
		t.Fatalf("the service holds %d items after the worker ran, want %d", svc.Items(), items-1)
	}

	// Service down.
	svc.Close()
	if r := h.do("POST", "/api/v1/credentials", key, secretBody("x", "")); r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.detail(), "refused") {
		t.Fatalf("service down = %d %s", r.status, r.body)
	}
	h.assertNoSecret(apiSecret, svcToken)
}

func TestCredentialsNotConfigured(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.SQLite)
	_, key := h.org("A")
	r := h.do("POST", "/api/v1/credentials", key, secretBody("x", ""))
	if r.status != 400 || !strings.Contains(r.detail(), "no credential vault is configured") {
		t.Fatalf("not configured = %d %s", r.status, r.body)
	}
}

func TestVaultMetrics(t *testing.T) {
	t.Parallel()
	h, _, _, key := configured(t, testdb.SQLite)
	if r := h.do("POST", "/api/v1/credentials", key, secretBody("m", "")); r.status != 201 {
		t.Fatal(r.status)
	}
	r := h.do("GET", "/metrics", "", nil)
	for _, want := range []string{`credvault_vault_operations_total{op="create",outcome="ok"} 1`,
		`credvault_http_requests_total{method="POST",route="/api/v1/credentials",status="201"} 1`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

// TestCursorPaging: the cursor continues a listing without reading what it
// skips, with the same filters, across both databases; deep page numbers
// are refused with a pointer to the cursor.
func TestCursorPaging(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h, _, _, key := configured(t, kind)
			for i := range 23 {
				if r := h.do("POST", "/api/v1/credentials", key, secretBody(fmt.Sprintf("item %02d", i), "x")); r.status != 201 {
					t.Fatal(r.status)
				}
			}
			var seen []string
			path := "/api/v1/credentials?page_size=5&search=item"
			for pages := 0; path != ""; pages++ {
				if pages > 10 {
					t.Fatal("cursor paging does not end")
				}
				r := h.do("GET", path, key, nil)
				var vs []map[string]any
				if err := json.Unmarshal(r.body, &vs); err != nil || r.status != 200 {
					t.Fatalf("%s = %d %s", path, r.status, r.body)
				}
				for _, v := range vs {
					seen = append(seen, v["name"].(string))
				}
				cur, _ := url.Parse(path)
				path = ""
				if link := r.header.Get("Link"); link != "" {
					if !strings.HasSuffix(link, `>; rel="next"`) || r.header.Get("X-Next-Cursor") == "" {
						t.Fatalf("Link %q / X-Next-Cursor %q", link, r.header.Get("X-Next-Cursor"))
					}
					// The target is relative: resolve it against the request.
					ref, err := url.Parse(strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`))
					if err != nil {
						t.Fatalf("Link %q: %v", link, err)
					}
					path = cur.ResolveReference(ref).String()
				}
			}
			if len(seen) != 23 || seen[0] != "item 22" || seen[22] != "item 00" {
				t.Fatalf("cursor pages saw %d credentials, first %q last %q", len(seen), seen[0], seen[len(seen)-1])
			}
			for i := 1; i < len(seen); i++ {
				if seen[i] == seen[i-1] {
					t.Fatal("a credential was listed twice")
				}
			}
			if r := h.do("GET", "/api/v1/credentials?cursor=bogus", key, nil); r.status != 400 || !strings.Contains(r.detail(), "cursor") {
				t.Fatalf("bad cursor = %d %s", r.status, r.body)
			}
			if r := h.do("GET", "/api/v1/credentials?page=52&page_size=200", key, nil); r.status != 400 || !strings.Contains(r.detail(), "cursor") {
				t.Fatalf("deep page = %d %s", r.status, r.body)
			}
			if r := h.do("GET", "/api/v1/credentials?page=51&page_size=200", key, nil); r.status != 200 {
				t.Fatalf("page at the offset limit = %d", r.status)
			}
		})
	}
}
