package credservice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/credservice/credservicetest"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/sealed"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/wire"
)

const (
	tokenA = "token-a-0123456789abcdef"
	tokenB = "token-b-fedcba9876543210"
)

func start(t *testing.T, kind testdb.Kind) (*credservice.Server, *httptest.Server, func(string) *contract.Client) {
	t.Helper()
	st := credservicetest.Open(t, kind)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	svc, err := credservice.New(st, kr, []string{tokenA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	client := func(tok string) *contract.Client {
		u, _ := url.Parse(srv.URL + credservice.Prefix)
		c, err := contract.New(u, vault.NewSecret(tok), contract.Options{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return svc, srv, client
}

func every() []vault.Credential {
	s := vault.NewSecret
	return []vault.Credential{
		{Name: "pw", Type: vault.TypePassword, Password: &vault.Password{Username: "u@example.com", Password: s("pw-plaintext-1"),
			TOTP: s("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator, Metadata: vault.Metadata{"a": "b"}}},
		{Name: "card", Type: vault.TypeCreditCard, CreditCard: &vault.CreditCard{CardHolderName: s("Holder Plaintext"),
			CardNumber: s("5555555555554444"), ExpMonth: s("01"), ExpYear: s("2033"), CVV: s("4321"), Brand: "mastercard",
			BillingAddress: &vault.BillingAddress{Line1: s("L1"), Line2: s("L2"), City: s("C"), State: s("S"), StateCode: s("SC"),
				PostalCode: s("P"), Country: s("Co"), CountryCode: s("CC")},
			BillingEmail: s("e@example.com"), BillingPhone: s("+1555"), Metadata: vault.Metadata{"x": "y"}}},
		{Name: "sec", Type: vault.TypeSecret, Secret: &vault.SecretValue{Value: s("secret-plaintext-1"), Label: "lbl"}},
	}
}

func TestRoundTripEveryTypeAndField(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			st := credservicetest.Open(t, kind)
			b, _ := keyring.Generate()
			kr, _ := keyring.Parse(b)
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			svc, _ := credservice.New(st, kr, []string{tokenA}, log)
			srv := httptest.NewServer(svc.Handler())
			defer srv.Close()
			u, _ := url.Parse(srv.URL + credservice.Prefix)
			c, _ := contract.New(u, vault.NewSecret(tokenA), contract.Options{MaxAttempts: 1})
			ctx := context.Background()
			for _, cred := range every() {
				if err := cred.Validate(); err != nil {
					t.Fatal(err)
				}
				id, err := c.CreateItem(ctx, cred)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.GetItem(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if d := wire.DiffFields(cred, got); len(d) > 0 {
					t.Fatalf("%s: fields differ after round trip: %v", cred.Type, d)
				}
			}
			if !strings.Contains(logs.String(), `"status":200`) {
				t.Fatal("no access log was written")
			}
			for _, plain := range []string{"pw-plaintext-1", "5555555555554444", "Holder Plaintext", "secret-plaintext-1", "JBSWY3DPEHPK3PXP", tokenA} {
				testdb.AssertAbsent(t, st, plain)
				if strings.Contains(logs.String(), plain) {
					t.Fatal("a secret appears in the service's logs")
				}
			}
		})
	}
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	svc, _, client := start(t, testdb.Postgres)
	ctx := context.Background()
	cred := every()[2]
	id, err := client(tokenA).CreateItem(ctx, cred)
	if err != nil {
		t.Fatal(err)
	}
	// Step 1: accept both.
	if err := svc.SetTokens([]string{tokenA, tokenB}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tokenA, tokenB} {
		if _, err := client(tok).GetItem(ctx, id); err != nil {
			t.Fatalf("during rotation, token %s...: %v", tok[:7], err)
		}
	}
	// Step 2: drop the old one.
	if err := svc.SetTokens([]string{tokenB}); err != nil {
		t.Fatal(err)
	}
	var ue *vault.UpstreamError
	if _, err := client(tokenA).GetItem(ctx, id); !errors.As(err, &ue) || ue.StatusCode != 401 {
		t.Fatalf("old token after rotation: %v, want 401", err)
	}
	if _, err := client(tokenB).GetItem(ctx, id); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if err := svc.SetTokens(nil); err == nil {
		t.Fatal("an empty token list was accepted")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	_, srv, _ := start(t, testdb.Postgres)
	base := srv.URL + credservice.Prefix
	cases := []struct {
		name, method, path, auth, body string
		status                         int
		detail                         string
	}{
		{"no token", "GET", "/x", "", "", 401, "token"},
		{"wrong token", "GET", "/x", "Bearer nope-nope-nope-nope", "", 401, "token"},
		{"basic auth", "GET", "/x", "Basic " + tokenA, "", 401, "token"},
		{"unknown id", "GET", "/cred_missing", "Bearer " + tokenA, "", 404, "not found"},
		{"delete unknown", "DELETE", "/cred_missing", "Bearer " + tokenA, "", 404, "not found"},
		{"bad JSON", "POST", "", "Bearer " + tokenA, `{"type":`, 400, "JSON"},
		{"unknown type", "POST", "", "Bearer " + tokenA, `{"name":"n","type":"ssh"}`, 400, "type"},
		{"missing type", "POST", "", "Bearer " + tokenA, `{"name":"n"}`, 400, "type"},
		{"missing field", "POST", "", "Bearer " + tokenA, `{"name":"n","type":"password","username":"u"}`, 400, "password"},
		{"missing name", "POST", "", "Bearer " + tokenA, `{"type":"secret","secret_value":"v"}`, 400, "name"},
		{"unknown field", "POST", "", "Bearer " + tokenA, `{"name":"n","type":"secret","secret_value":"v","zzz":1}`, 400, "zzz"},
		{"too large", "POST", "", "Bearer " + tokenA, `{"name":"n","type":"secret","secret_value":"` + strings.Repeat("v", 1<<20) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, bytes.NewBufferString(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct{ Detail string }
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(strings.ToLower(p.Detail), strings.ToLower(tc.detail)) {
				t.Fatalf("= %d %q, want %d with %q", resp.StatusCode, p.Detail, tc.status, tc.detail)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if _, err := credservice.ConfigFromEnv(env(nil)); err == nil || !strings.Contains(err.Error(), "CREDENTIAL_SERVICE_TOKENS") {
		t.Fatalf("no tokens: %v", err)
	}
	if _, err := credservice.ConfigFromEnv(env(map[string]string{"CREDENTIAL_SERVICE_TOKENS": "short"})); err == nil {
		t.Fatal("a short token was accepted")
	}
	c, err := credservice.ConfigFromEnv(env(map[string]string{"CREDENTIAL_SERVICE_TOKENS": tokenA + "," + tokenB}))
	if err != nil || len(c.Tokens) != 2 || c.Addr != "127.0.0.1:8081" {
		t.Fatalf("config = %v %v", c.Addr, err)
	}
	// The shared parser: DATABASE_URL_FILE, and a URL that parses.
	dbFile := filepath.Join(t.TempDir(), "db")
	os.WriteFile(dbFile, []byte("postgres://u:pw@127.0.0.1:5432/db\n"), 0o600)
	c2, err := credservice.ConfigFromEnv(env(map[string]string{"CREDENTIAL_SERVICE_TOKENS": tokenA, "DATABASE_URL_FILE": dbFile}))
	if err != nil || c2.DatabaseURL != "postgres://u:pw@127.0.0.1:5432/db" {
		t.Fatalf("DATABASE_URL_FILE: %v", err)
	}
	for _, bad := range []string{"postgres//nohost", "mysql://127.0.0.1/db", "%zz://x"} {
		if _, err := credservice.ConfigFromEnv(env(map[string]string{"CREDENTIAL_SERVICE_TOKENS": tokenA, "DATABASE_URL": bad})); err == nil ||
			!strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), bad) {
			t.Fatalf("DATABASE_URL %q: %v, want an error naming the variable, not the value", bad, err)
		}
	}
	c.DatabaseURL = "postgres://x"
	if _, _, err := c.LoadKeyring(); err == nil || !strings.Contains(err.Error(), "CREDENTIAL_SERVICE_KEYSET_FILE") {
		t.Fatalf("postgres without keyset: %v", err)
	}
}

// TestReloadAppliesTokenRules: a SIGHUP reload (ReloadTokensFile) checks
// the file with the start-up rules; a bad file keeps the old tokens.
func TestReloadAppliesTokenRules(t *testing.T) {
	t.Parallel()
	svc, _, client := start(t, testdb.SQLite)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "tokens")
	for _, bad := range []string{"x\n", "", "short-token\n" + tokenB, tokenB + ",has space in it"} {
		if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ReloadTokensFile(file); err == nil || !strings.Contains(err.Error(), "CREDENTIAL_SERVICE_TOKENS_FILE") {
			t.Fatalf("reload of a bad file: %v, want an error naming CREDENTIAL_SERVICE_TOKENS_FILE", err)
		}
		if _, err := client("x").CreateItem(ctx, every()[2]); err == nil {
			t.Fatal(`after a rejected reload, "Bearer x" is accepted`)
		}
		if _, err := client(tokenA).CreateItem(ctx, every()[2]); err != nil {
			t.Fatalf("after a rejected reload the old token stopped working: %v", err)
		}
	}
	if err := os.WriteFile(file, []byte(tokenB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ReloadTokensFile(file); err != nil || n != 1 {
		t.Fatalf("good reload: %d %v", n, err)
	}
	if _, err := client(tokenB).CreateItem(ctx, every()[2]); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if err := svc.SetTokens([]string{"x"}); err == nil {
		t.Fatal("SetTokens accepted a 1-character token")
	}
	// Start-up names the variable that was actually wrong.
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := credservice.ConfigFromEnv(func(k string) (string, bool) {
		return map[string]string{"CREDENTIAL_SERVICE_TOKENS_FILE": file}[k], k == "CREDENTIAL_SERVICE_TOKENS_FILE"
	})
	if err == nil || !strings.Contains(err.Error(), "CREDENTIAL_SERVICE_TOKENS_FILE") {
		t.Fatalf("start-up with a bad tokens file: %v", err)
	}
}

// TestBaseURLAnswersConnectionTest: GET {base} is 200 with a valid token
// (Skyvern's Test Connection accepts only 2xx) and 401 without.
func TestBaseURLAnswersConnectionTest(t *testing.T) {
	t.Parallel()
	_, srv, client := start(t, testdb.SQLite)
	status, err := client(tokenA).Probe(context.Background())
	if err != nil || status != 200 {
		t.Fatalf("GET {base} with the token = %d %v, want 200", status, err)
	}
	status, _ = client("not-the-token-0123456789").Probe(context.Background())
	if status != 401 {
		t.Fatalf("GET {base} with a wrong token = %d, want 401", status)
	}
	resp, err := http.Get(srv.URL + credservice.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("GET {base} without a token = %d, want 401", resp.StatusCode)
	}
}

// TestAcceptsSkyvernPayloads: the bodies Skyvern's CustomCredentialAPIClient
// sends (nulls for unset optionals, totp_type always present) are accepted
// and read back unchanged.
func TestAcceptsSkyvernPayloads(t *testing.T) {
	t.Parallel()
	_, srv, _ := start(t, testdb.SQLite)
	for _, body := range []string{
		`{"name":"Bank","type":"password","username":"alice@example.com","password":"pw-1","totp":null,"totp_type":"none"}`,
		`{"name":"Bank 2FA","type":"password","username":"alice","password":"pw-2","totp":"jbsw y3dp ehpk 3pxp","totp_type":"authenticator","metadata":{"site":"bank"}}`,
		`{"name":"Card","type":"credit_card","card_holder_name":"Alice Smith","card_number":"4111 1111 1111 1111","card_exp_month":"7","card_exp_year":"29","card_cvv":"12345","card_brand":"visa","billing_address":{"line1":"1 Main St","country_code":"US"},"billing_email":"a@example.com","metadata":{"k":"v"}}`,
		`{"name":"API","type":"secret","secret_value":"sk-abc123"}`,
		`{"name":"API 2","type":"secret","secret_value":"sk-def456","secret_label":""}`,
	} {
		req, _ := http.NewRequest("POST", srv.URL+credservice.Prefix, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokenA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var created struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&created)
		resp.Body.Close()
		if resp.StatusCode != 200 || created.ID == "" {
			t.Fatalf("create %.40s… = %d", body, resp.StatusCode)
		}
		req, _ = http.NewRequest("GET", srv.URL+credservice.Prefix+"/"+created.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got, want map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		_ = json.Unmarshal([]byte(body), &want)
		for k, v := range want {
			if v == nil {
				if g, ok := got[k]; ok && g != nil && g != "" {
					t.Errorf("%s: null %s came back as %v", want["name"], k, g)
				}
				continue
			}
			// An empty secret_label too comes back as sent: "", not null.
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s: %s changed (%#v)", want["name"], k, got[k])
			}
		}
	}
}

// TestIdempotencyKey: the same Idempotency-Key from the same token returns
// the same item and stores nothing new, also when sent concurrently; the
// answer says so.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	_, srv, _ := start(t, testdb.Postgres)
	post := func(token, key string) (string, string) {
		req, _ := http.NewRequest("POST", srv.URL+credservice.Prefix, strings.NewReader(`{"name":"n","type":"secret","secret_value":"v"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return "", ""
		}
		defer resp.Body.Close()
		var out struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.ID, resp.Header.Get("Idempotent-Replayed")
	}
	id1, replayed1 := post(tokenA, "cred_k1")
	id2, replayed2 := post(tokenA, "cred_k1")
	if id1 == "" || id1 != id2 || replayed1 != "false" || replayed2 != "true" {
		t.Fatalf("same key: %s (%s) then %s (%s), want the same id, replayed false then true", id1, replayed1, id2, replayed2)
	}
	if id3, _ := post(tokenA, "cred_k2"); id3 == id1 {
		t.Fatal("another key returned the same item")
	}
	if id4, r := post(tokenA, ""); id4 == "" || r != "" {
		t.Fatalf("no key: %q replayed %q", id4, r)
	}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() { ids[i], _ = post(tokenA, "cred_concurrent") })
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("concurrent creates with one key: %v", ids)
		}
	}
}

// TestIdempotencyKeyIsBoundToItsBodyAndItsItem: a key with another body
// is a 422 (unless a recovery asks for the key's item whatever the body),
// and a key whose item was deleted is not replayed: the create stores the
// body anew.
func TestIdempotencyKeyIsBoundToItsBodyAndItsItem(t *testing.T) {
	t.Parallel()
	for _, kind := range []testdb.Kind{testdb.Postgres, testdb.SQLite} {
		_, srv, _ := start(t, kind)
		send := func(method, path, body string, header ...string) (int, string) {
			req, _ := http.NewRequest(method, srv.URL+credservice.Prefix+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokenA)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct{ ID, Detail string }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out.ID + out.Detail
		}
		one, other := `{"name":"n","type":"secret","secret_value":"v1"}`, `{"name":"n","type":"secret","secret_value":"v2"}`
		code, id := send("POST", "", one, "Idempotency-Key", "k/v2")
		if code != 200 || id == "" {
			t.Fatalf("%s: create = %d %s", kind, code, id)
		}
		if code, again := send("POST", "", one, "Idempotency-Key", "k/v2"); code != 200 || again != id {
			t.Fatalf("%s: same key, same body = %d %s, want the same item", kind, code, again)
		}
		if code, msg := send("POST", "", other, "Idempotency-Key", "k/v2"); code != 422 || !strings.Contains(msg, "different request body") {
			t.Fatalf("%s: same key, another body = %d %s, want 422", kind, code, msg)
		}
		if code, got := send("POST", "", other, "Idempotency-Key", "k/v2", "Idempotency-Recover", "true"); code != 200 || got != id {
			t.Fatalf("%s: recovering the key's item = %d %s, want %s", kind, code, got, id)
		}
		if code, _ := send("DELETE", "/"+id, ""); code != 200 {
			t.Fatalf("%s: delete = %d", kind, code)
		}
		code, fresh := send("POST", "", one, "Idempotency-Key", "k/v2")
		if code != 200 || fresh == id || fresh == "" {
			t.Fatalf("%s: the key of a deleted item = %d %s, want a new item (not %s)", kind, code, fresh, id)
		}
		if code, _ := send("GET", "/"+fresh, ""); code != 200 {
			t.Fatalf("%s: the new item is not readable: %d", kind, code)
		}
	}
}

// TestItemsReencryptUnderANewKey: the items' keyset is rotated (add,
// promote, reencrypt over credservice.Sealed, disable the old key) and a
// service on the final keyset still reads every item, on both databases.
func TestItemsReencryptUnderANewKey(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := credservicetest.Open(t, kind)
			k0, _ := keyring.Generate()
			kr0, _ := keyring.Parse(k0)
			svc, _ := credservice.New(st, kr0, []string{tokenA}, nil)
			srv := httptest.NewServer(svc.Handler())
			defer srv.Close()
			u, _ := url.Parse(srv.URL + credservice.Prefix)
			c, _ := contract.New(u, vault.NewSecret(tokenA), contract.Options{MaxAttempts: 1})
			var ids []string
			for _, cred := range every() {
				id, err := c.CreateItem(ctx, cred)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			k1, newID, _ := keyring.AddKey(k0)
			k2, _ := keyring.Promote(k1, newID)
			kr2, _ := keyring.Parse(k2)
			sets := []sealed.Set{st.Sealed()}
			res, err := kr2.Reencrypt(ctx, sets, nil)
			if err != nil || res[0].Reencrypted != len(ids) {
				t.Fatalf("reencrypt = %+v %v", res, err)
			}
			if n, _ := keyring.CountByKey(ctx, sets); n[kr0.PrimaryID()] != 0 || n[newID] != len(ids) {
				t.Fatalf("counts = %v", n)
			}
			k3, err := keyring.DisableKey(k2, kr0.PrimaryID())
			if err != nil {
				t.Fatal(err)
			}
			kr3, _ := keyring.Parse(k3)
			svc3, _ := credservice.New(st, kr3, []string{tokenA}, nil)
			srv3 := httptest.NewServer(svc3.Handler())
			defer srv3.Close()
			u3, _ := url.Parse(srv3.URL + credservice.Prefix)
			c3, _ := contract.New(u3, vault.NewSecret(tokenA), contract.Options{MaxAttempts: 1})
			for i, id := range ids {
				got, err := c3.GetItem(ctx, id)
				if err != nil {
					t.Fatalf("item %d after rotation: %v", i, err)
				}
				if !slices.Equal(got.SecretValues(), every()[i].SecretValues()) {
					t.Fatalf("item %d changed in the rotation", i)
				}
			}
		})
	}
}

// TestUnauthenticatedInputIsBounded: the reference service shares
// credvault's request handling — a client's X-Request-Id is kept only when
// well formed, an odd method is logged as OTHER, one line per request.
func TestUnauthenticatedInputIsBounded(t *testing.T) {
	t.Parallel()
	st := credservicetest.Open(t, testdb.SQLite)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	var logs bytes.Buffer
	svc, _ := credservice.New(st, kr, []string{tokenA}, slog.New(slog.NewJSONHandler(&logs, nil)))
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	hostile := strings.Repeat("x-evil-request-id", 10)
	req, _ := http.NewRequest("PURGE", srv.URL+credservice.Prefix, nil)
	req.Header.Set("X-Request-Id", hostile)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got == hostile || len(got) != 32 {
		t.Fatalf("X-Request-Id answered %q", got)
	}
	if strings.Contains(logs.String(), "evil") || strings.Contains(logs.String(), "PURGE") || !strings.Contains(logs.String(), `"method":"OTHER"`) {
		t.Fatalf("log: %s", logs.String())
	}
	req, _ = http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "client-id.42")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "client-id.42" {
		t.Fatal("a well-formed request id was not kept")
	}
}

// TestTokenRuleCountsVisibleCharacters: the length rule counts characters,
// not bytes, and a token may hold no invisible character (control, format
// such as U+200B, any kind of space).
func TestTokenRuleCountsVisibleCharacters(t *testing.T) {
	t.Parallel()
	for name, tok := range map[string]string{
		"six zero-width spaces":     strings.Repeat("\u200b", 6),
		"five multi-byte letters":   "ééééé",
		"a zero-width joiner":       "valid-token-0123\u200d456",
		"a no-break space":          "valid-token-0123\u00a0456",
		"a right-to-left override":  "valid-token-0123\u202e456",
		"an ideographic space":      "valid-token-0123\u3000456",
		"invalid UTF-8":             "valid-token-0123\xff456",
		"a line separator (U+2028)": "valid-token-0123\u2028456",
	} {
		if err := credservice.CheckTokens([]string{tok}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := credservice.CheckTokens([]string{"jeton-sécurisé-élevé-2026"}); err != nil {
		t.Errorf("a printable non-ASCII token: %v", err)
	}
}
