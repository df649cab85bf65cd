package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// Skyvern's CredentialResponse: every field with its JSON kinds ("null"
// allowed where Skyvern's model is optional).
var credentialResponseShape = map[string][]string{
	"credential_id": {"string"}, "credential": {"object"}, "credential_type": {"string"}, "name": {"string"},
	"vault_type": {"string", "null"}, "browser_profile_id": {"string", "null"}, "auto_profile_disabled": {"bool", "null"},
	"pin_saved_session_ip": {"bool"}, "tested_url": {"string", "null"}, "user_context": {"string", "null"},
	"save_browser_session_intent": {"bool", "null"}, "run_sequentially": {"bool"}, "folder_id": {"string", "null"},
	"proxy_location": {"string", "object", "null"}, "proxy_session_id": {"string", "null"},
}

var innerShapes = map[string]map[string][]string{
	"password":    {"username": {"string"}, "totp_type": {"string"}, "totp_identifier": {"string", "null"}},
	"credit_card": {"last_four": {"string"}, "brand": {"string"}},
	"secret":      {"secret_label": {"string", "null"}},
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "?"
}

func conforms(t *testing.T, what string, m map[string]any, shape map[string][]string) {
	t.Helper()
	for k, kinds := range shape {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: missing %q", what, k)
			continue
		}
		found := false
		for _, kind := range kinds {
			found = found || jsonKind(v) == kind
		}
		if !found {
			t.Errorf("%s: %q is a %s, want %v", what, k, jsonKind(v), kinds)
		}
	}
}

// assertCredentialResponse checks an answer parses as Skyvern's
// CredentialResponse.
func assertCredentialResponse(t *testing.T, what string, m map[string]any) {
	t.Helper()
	conforms(t, what, m, credentialResponseShape)
	typ, _ := m["credential_type"].(string)
	inner, _ := m["credential"].(map[string]any)
	if shape, ok := innerShapes[typ]; ok {
		conforms(t, what+".credential", inner, shape)
	} else {
		t.Errorf("%s: credential_type %q", what, typ)
	}
}

// TestSkyvernFrontendReplay replays, request by request, what Skyvern's web
// app (skyvern-frontend at 07222e7a) and SDK send, and checks every answer
// parses as Skyvern's own response models.
func TestSkyvernFrontendReplay(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.RateConfig, cfg.RateCredentials = config.DefaultRateConfig, config.DefaultRateCredentials // as deployed
	h := newHarnessWithConfig(t, cfg)
	svc := fakeservice.New(t, svcToken)
	orgID, key := h.org("Skyvern")

	// Settings page: load (nothing saved), save, load, test and save again
	// with the masked token the form pre-fills.
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil); r.status != 404 {
		t.Fatalf("settings load = %d", r.status)
	}
	r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken))
	conforms(t, "OrganizationAuthToken", r.json(t)["token"].(map[string]any), map[string][]string{
		"id": {"string"}, "organization_id": {"string"}, "token_type": {"string"}, "token": {"string"}, "valid": {"bool"},
		"created_at": {"string"}, "modified_at": {"string"}})
	loaded := innerToken(t, h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil))
	echo := cfgBody(loaded["api_base_url"], loaded["api_token"])
	if r := h.do("POST", "/api/v1/credentials/custom_credential/test_connection", key, echo); r.status != 200 {
		t.Fatalf("test with the echoed mask = %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, echo); r.status != 200 {
		t.Fatalf("save with the echoed mask = %d %s", r.status, r.body)
	}

	// Create each type with the UI's exact bodies.
	bodies := map[string]map[string]any{
		"password": {"name": "Bank", "credential_type": "password", "credential": map[string]any{
			"username": "alice@example.com", "password": pwSecret, "totp": totpSeed, "totp_type": "authenticator",
			"totp_identifier": nil, "metadata": map[string]string{"security question": "blue"}},
			"proxy_location": nil, "proxy_session_id": nil,
			"browser_profile_id": nil, "auto_profile_disabled": false, "pin_saved_session_ip": true},
		"credit_card": {"name": "Corporate card", "credential_type": "credit_card", "credential": map[string]any{
			"card_number": "4111 1111 1111 1111", "card_cvv": "12345", "card_exp_month": "7", "card_exp_year": "29",
			"card_brand": "visa", "card_holder_name": "Alice Smith",
			"billing_address": map[string]any{"line1": "1 Main St", "line2": "Apt 4", "city": "Springfield", "postal_code": "12345", "country_code": "US"},
			"billing_email":   "billing@example.com", "billing_phone": "+1 555 0100", "metadata": map[string]string{"cost center": "42"}},
			"proxy_location": "RESIDENTIAL_ISP", "proxy_session_id": nil},
		"secret": {"name": "OpenAI", "credential_type": "secret", "credential": map[string]any{
			"secret_value": strings.Repeat("k", 8<<10), "secret_label": ""}, "proxy_location": nil, "proxy_session_id": nil,
			"tested_url": "https://platform.example.com/login", "vault_type": "custom"},
	}
	ids := map[string]string{}
	for typ, body := range bodies {
		r := h.do("POST", "/api/v1/credentials", key, body)
		if r.status != 201 {
			t.Fatalf("create %s = %d %s", typ, r.status, scrub(string(r.body)))
		}
		v := r.json(t)
		assertCredentialResponse(t, "create "+typ, v)
		ids[typ] = v["credential_id"].(string)
	}
	if v := h.do("GET", "/api/v1/credentials/"+ids["password"], key, nil).json(t); v["pin_saved_session_ip"] != true || v["auto_profile_disabled"] != false {
		t.Errorf("password settings = %v", v)
	}
	if v := h.do("GET", "/api/v1/credentials/"+ids["credit_card"], key, nil).json(t); v["proxy_location"] != "RESIDENTIAL_ISP" ||
		v["credential"].(map[string]any)["last_four"] != "1111" {
		t.Errorf("card view = %v", v)
	}
	if v := h.do("GET", "/api/v1/credentials/"+ids["secret"], key, nil).json(t); v["tested_url"] != "https://platform.example.com/login" ||
		v["credential"].(map[string]any)["secret_label"] != "" {
		t.Errorf("secret view = %v", v)
	}
	// Fields outside Skyvern's models stay 400s naming the field.
	extra := map[string]any{}
	for k, v := range bodies["secret"] {
		extra[k] = v
	}
	extra["favourite_colour"] = "blue"
	if r := h.do("POST", "/api/v1/credentials", key, extra); r.status != 400 || !strings.Contains(r.detail(), "favourite_colour") {
		t.Errorf("unknown field = %d %s", r.status, r.body)
	}

	// Edit without metadata: the form's update keeps what it does not send.
	upd := map[string]any{"name": "Bank", "credential_type": "password", "credential": map[string]any{
		"username": "alice@example.com", "password": pwSecret + "-new", "totp": totpSeed, "totp_type": "authenticator", "totp_identifier": nil}}
	if r := h.do("POST", "/api/v1/credentials/"+ids["password"]+"/update", key, upd); r.status != 200 {
		t.Fatalf("update without metadata = %d %s", r.status, scrub(string(r.body)))
	}
	full, err := h.p.Credentials.GetWithSecret(context.Background(), orgID, ids["password"])
	if err != nil || full.Credential.Password.Metadata["security question"] != "blue" || full.Credential.Password.Password.Reveal() != pwSecret+"-new" {
		t.Fatalf("after an update without metadata: %v (metadata kept: %v)", err, full.Credential.Password != nil && full.Credential.Password.Metadata != nil)
	}
	cardUpd := map[string]any{"name": "Corporate card", "credential_type": "credit_card", "credential": map[string]any{
		"card_number": "4111 1111 1111 1111", "card_cvv": "12345", "card_exp_month": "8", "card_exp_year": "29",
		"card_brand": "visa", "card_holder_name": "Alice Smith", "billing_address": map[string]any{"city": "Shelbyville"},
		"billing_phone": nil}}
	if r := h.do("POST", "/api/v1/credentials/"+ids["credit_card"]+"/update", key, cardUpd); r.status != 200 {
		t.Fatalf("card update = %d %s", r.status, scrub(string(r.body)))
	}
	full, err = h.p.Credentials.GetWithSecret(context.Background(), orgID, ids["credit_card"])
	if err != nil {
		t.Fatal(err)
	}
	cc := full.Credential.CreditCard
	if cc.BillingAddress == nil || cc.BillingAddress.City.Reveal() != "Shelbyville" || cc.BillingAddress.Line1.Reveal() != "1 Main St" ||
		cc.BillingAddress.Line2.Reveal() != "Apt 4" || cc.BillingEmail.Reveal() != "billing@example.com" || !cc.BillingPhone.IsZero() ||
		cc.Metadata["cost center"] != "42" || cc.ExpMonth.Reveal() != "8" {
		t.Fatal("card update did not keep the omitted billing details and metadata, or did not clear the null phone")
	}

	// Rename (PATCH, metadata only: the vault is not called).
	before := svc.Requests.Load()
	r = h.do("PATCH", "/api/v1/credentials/"+ids["password"], key, map[string]any{"name": "Bank (personal)", "tested_url": "https://bank.example.com/login",
		"user_context": "click SSO first", "save_browser_session_intent": true})
	if r.status != 200 || r.json(t)["name"] != "Bank (personal)" || r.json(t)["user_context"] != "click SSO first" {
		t.Fatalf("rename = %d %s", r.status, r.body)
	}
	assertCredentialResponse(t, "rename", r.json(t))
	if svc.Requests.Load() != before {
		t.Fatal("PATCH called the credential service")
	}
	if r := h.do("PATCH", "/api/v1/credentials/"+ids["password"], key, map[string]any{}); r.status != 400 {
		t.Fatalf("empty PATCH = %d", r.status)
	}
	if r := h.do("PATCH", "/api/v1/credentials/"+ids["password"], key, map[string]any{"proxy_location": map[string]any{"country": "us", "subdivision": "US-CA"}}); r.status != 200 ||
		fmt.Sprint(r.json(t)["proxy_location"]) != "map[city:<nil> country:US subdivision:CA]" {
		t.Fatalf("geo proxy location = %d %s", r.status, r.body)
	}

	// Folders: create, move, filter (the page loads folders first).
	if r := h.do("GET", "/api/v1/credential_folders?page=1&page_size=100", key, nil); r.status != 200 {
		t.Fatalf("folders = %d", r.status)
	}
	fid := h.do("POST", "/api/v1/credential_folders", key, map[string]any{"title": "Finance", "description": nil}).json(t)["folder_id"].(string)
	r = h.do("PUT", "/api/v1/credentials/"+ids["credit_card"]+"/folder", key, map[string]any{"folder_id": fid})
	assertCredentialResponse(t, "move", r.json(t))
	var inFolder []map[string]any
	_ = json.Unmarshal(h.do("GET", "/api/v1/credentials?page=1&page_size=200&folder_id="+fid, key, nil).body, &inFolder)
	if len(inFolder) != 1 || inFolder[0]["credential_id"] != ids["credit_card"] {
		t.Fatalf("folder filter = %v", inFolder)
	}

	// TOTP push + list (email/SMS logins).
	if r := h.do("POST", "/v1/credentials/totp", key, map[string]any{"totp_identifier": "alice@example.com", "content": "Your code is 123987",
		"workflow_run_id": nil, "workflow_id": nil}); r.status != 200 || r.json(t)["code"] != "123987" {
		t.Fatalf("push = %d %s", r.status, r.body)
	}
	var codes []map[string]any
	_ = json.Unmarshal(h.do("GET", "/v1/credentials/totp?totp_identifier=alice@example.com&limit=50", key, nil).body, &codes)
	if len(codes) != 1 {
		t.Fatalf("codes = %v", codes)
	}

	// List as the UI does, with the vault_type filter.
	var page []map[string]any
	r = h.do("GET", "/api/v1/credentials?page=1&page_size=200&vault_type=custom", key, nil)
	_ = json.Unmarshal(r.body, &page)
	if len(page) != 3 {
		t.Fatalf("list = %d %d credentials", r.status, len(page))
	}
	for _, v := range page {
		assertCredentialResponse(t, "list", v)
	}
	if r := h.do("GET", "/api/v1/credentials?vault_type=bitwarden", key, nil); string(r.body) != "[]\n" && string(r.body) != "[]" {
		t.Fatalf("vault_type=bitwarden = %s", r.body)
	}

	// A 100-credential import script and a 25-row bulk delete, each at
	// concurrency 5, under the default rate limits: never a 429.
	var mu sync.Mutex
	var created []string
	statuses := map[int]int{}
	run := func(n int, f func(i int) response) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 5)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				r := f(i)
				mu.Lock()
				statuses[r.status]++
				if r.status == 201 {
					var v struct {
						CredentialID string `json:"credential_id"`
					}
					_ = json.Unmarshal(r.body, &v)
					created = append(created, v.CredentialID)
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	run(100, func(i int) response {
		return h.do("POST", "/api/v1/credentials", key, secretBody(fmt.Sprintf("import %d", i), ""))
	})
	if statuses[201] != 100 {
		t.Fatalf("import of 100 at concurrency 5: %v", statuses)
	}
	statuses = map[int]int{}
	run(25, func(i int) response { return h.do("DELETE", "/api/v1/credentials/"+created[i], key, nil) })
	if statuses[204] != 25 {
		t.Fatalf("bulk delete of 25 at concurrency 5: %v", statuses)
	}
}
