package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is required in CI (.ci/run installs Debian's chromium)")
	}
	t.Skip("Chromium not installed; `apt-get install chromium` to run the browser test")
	return ""
}

// waitFor polls a JavaScript expression until it is true or the deadline
// passes. (chromedp.Poll compiles its predicate with new Function, which
// the page's CSP rightly forbids; Runtime.evaluate is not subject to it.)
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	waitShowing(t, ctx, 15*time.Second, what, expr,
		`document.getElementById('status').innerText + ' | ' + document.getElementById('result').innerText + ' | ' + document.getElementById('key-error').innerText`)
}

// waitShowing is waitFor with its own deadline and its own expression for
// what the page shows when the deadline passes.
func waitShowing(t *testing.T, ctx context.Context, within time.Duration, what, expr, shows string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](shows))
			t.Fatalf("timed out waiting for %s (%v); page shows: %s", what, err, scrub(state))
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// chromiumOptions starts Debian's Chromium headless with every background
// service off. host-resolver-rules makes every host name fail inside
// Chromium, so nothing it does can send a DNS query or reach past
// loopback (the test only visits 127.0.0.1).
func chromiumOptions(exe, userDataDir string) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	return append(opts,
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(userDataDir),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-domain-reliability", true), chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,AutofillServerCommunication,"+
			"OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,"+
			"InterestFeedContentSuggestions,PrivacySandboxSettings4"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1000, 1000))
}

// newBrowser starts a headless Chromium for the test, closed when it ends.
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(exe, t.TempDir())...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

func text(id string) string { return fmt.Sprintf(`document.getElementById(%q).textContent`, id) }

func TestSettingsPageInChromium(t *testing.T) {
	exe := chromiumPath(t)
	h := newHarness(t, testdb.Postgres)
	svc := fakeservice.New(t, svcToken)
	orgID, key := h.org("Acme")

	// Security headers.
	resp, err := http.Get(h.srv.URL + "/settings")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("settings page headers: %d %v", resp.StatusCode, resp.Header)
	}

	ctx := newBrowser(t, exe)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}

	do(chromedp.Navigate(h.srv.URL + "/settings"))
	waitFor(t, ctx, "the form to be disabled without a key", `document.getElementById('config-fields').disabled`)
	hiddenDetails := `getComputedStyle(document.getElementById('status-details')).display === 'none'`
	waitFor(t, ctx, "empty status details to be hidden", hiddenDetails)

	// A wrong key is rejected in words.
	do(chromedp.SendKeys(chromedp.ID("api-key"), "cvk_wrong"), chromedp.Click(chromedp.ID("key-use")))
	waitFor(t, ctx, "the key error", text("key-error")+`.includes('rejected')`)

	// The real key: not configured yet.
	do(chromedp.SendKeys(chromedp.ID("api-key"), key), chromedp.Click(chromedp.ID("key-use")))
	waitFor(t, ctx, "Not configured", text("status-badge")+` === 'Not configured'`)
	waitFor(t, ctx, "which key is in use", text("key-hint")+fmt.Sprintf(`.includes(%q)`, key[:4]+"…"+key[len(key)-4:]))
	waitFor(t, ctx, "the admin role", text("key-role")+` === 'Role: admin. This key can change the configuration.'`)

	// A URL error names the field by its label, not its API path.
	do(chromedp.SendKeys(chromedp.ID("base-url"), "http://credentials.example.com/api"),
		chromedp.SendKeys(chromedp.ID("api-token"), svcToken), chromedp.Click(chromedp.ID("test-btn")))
	waitFor(t, ctx, "a labelled URL error", text("result")+`.startsWith('API Base URL: ')`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById("base-url").value = "") === "" && (document.getElementById("api-token").value = "") === ""`)); err != nil {
		t.Fatal(err)
	}

	// Save a configuration.
	do(chromedp.SendKeys(chromedp.ID("base-url"), svc.Base()),
		chromedp.SendKeys(chromedp.ID("api-token"), svcToken),
		chromedp.Click(chromedp.ID("token-toggle")))
	waitFor(t, ctx, "the token to be shown", `document.getElementById('api-token').type === 'text'`)
	do(chromedp.Click(chromedp.ID("token-toggle")), chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the save result", text("result")+` === 'Configuration saved.'`)
	waitFor(t, ctx, "Active", text("status-badge")+` === 'Active'`)

	// Reload: the key survives in sessionStorage and the status shows the masked token.
	do(chromedp.Reload())
	waitFor(t, ctx, "Active after reload", text("status-badge")+` === 'Active'`)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](text("status")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown, svc.Base()) || !strings.Contains(shown, "********") || strings.Contains(shown, svcToken) {
		t.Fatalf("status after reload shows %q: want the base URL and a masked token", shown)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(shot) < 1000 {
		t.Fatalf("screenshot of %d bytes", len(shot))
	}
	if *update {
		if err := os.WriteFile("../docs/settings.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Test Connection with the saved token, then a full round trip.
	do(chromedp.Click(chromedp.ID("test-btn")))
	waitFor(t, ctx, "a successful test", text("result")+`.startsWith('Connection successful')`)
	do(chromedp.Click(chromedp.ID("roundtrip")), chromedp.Click(chromedp.ID("test-btn")))
	waitFor(t, ctx, "a successful round trip", text("result")+`.startsWith('Round trip successful')`)

	// A bad URL is explained inline and changes nothing.
	do(chromedp.SetValue(chromedp.ID("base-url"), "http://creds.example.com/api"),
		chromedp.SendKeys(chromedp.ID("api-token"), "another-token-123"),
		chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the URL error", text("result")+`.includes('https://')`)
	waitFor(t, ctx, "the failure style", `document.getElementById('result').className.includes('fail')`)
	if r := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil); r.status != 200 ||
		!strings.Contains(string(r.body), svc.Base()) {
		t.Fatalf("a rejected save changed the configuration: %s", r.body)
	}

	// Clear asks for confirmation, then shows Not configured.
	do(chromedp.Click(chromedp.ID("clear-btn")))
	waitFor(t, ctx, "the confirmation", `!document.getElementById('clear-confirm').hidden`)
	do(chromedp.Click(chromedp.ID("clear-yes")))
	waitFor(t, ctx, "Not configured after clear", text("status-badge")+` === 'Not configured'`)
	waitFor(t, ctx, "the old details to be hidden", hiddenDetails)

	// Forget the key.
	do(chromedp.Click(chromedp.ID("key-forget")))
	waitFor(t, ctx, "the key to be forgotten", `sessionStorage.getItem('credvault.apiKey') === null && document.getElementById('config-fields').disabled`)

	// A member key: the page says its role and keeps the form disabled;
	// an agent key is not asked for the configuration at all.
	for _, r := range []org.Role{org.RoleMember, org.RoleAgent} {
		k, err := h.p.Organizations.AddKey(context.Background(), orgID, org.KeyOptions{Role: r})
		if err != nil {
			t.Fatal(err)
		}
		do(chromedp.SendKeys(chromedp.ID("api-key"), k.APIKey), chromedp.Click(chromedp.ID("key-use")))
		waitFor(t, ctx, "the "+r.String()+" role", text("key-role")+fmt.Sprintf(`.startsWith('Role: %s. This key cannot change the configuration')`, r)+
			` && document.getElementById('config-fields').disabled`)
		if r == org.RoleAgent {
			waitFor(t, ctx, "the agent's status", text("status-text")+`.startsWith("This key's role (agent)")`)
		} else {
			waitFor(t, ctx, "the member's status", text("status-badge")+` === 'Not configured'`)
		}
		do(chromedp.Click(chromedp.ID("key-forget")))
		waitFor(t, ctx, "the key to be forgotten", `sessionStorage.getItem('credvault.apiKey') === null && document.getElementById('key-role').hidden`)
	}

	h.assertNoSecret(svcToken)
}

// TestSettingsPageShowsOperatorService: with nothing saved and an
// env-configured service, the page says the operator's service is in use
// and its Test button tests it.
func TestSettingsPageShowsOperatorService(t *testing.T) {
	exe := chromiumPath(t)
	h, _ := envHarness(t, testdb.SQLite)
	_, key := h.org("Acme")

	ctx := newBrowser(t, exe)
	if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/settings"),
		chromedp.SendKeys(chromedp.ID("api-key"), key), chromedp.Click(chromedp.ID("key-use"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the operator's service", text("status-badge")+` === "Operator's service"`)
	waitFor(t, ctx, "its words", text("status-text")+`.startsWith('Using the service configured by the operator')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("test-btn"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a successful test of the operator's service", text("result")+`.startsWith('Connection successful')`)
}

// TestDocsPageInChromium: /docs renders the OpenAPI document with the
// embedded Swagger UI under the strict CSP, loading nothing from another
// origin.
func TestDocsPageInChromium(t *testing.T) {
	exe := chromiumPath(t)
	h := newHarness(t, testdb.SQLite)
	resp, err := http.Get(h.srv.URL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("/docs: %d CSP %q", resp.StatusCode, csp)
	}
	ctx := newBrowser(t, exe)
	if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/docs")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the operations to render",
		`Array.from(document.querySelectorAll('.opblock-summary-path')).some(e => e.textContent.includes('/api/v1/credentials/{credential_id}/totp-code'))`)
	waitFor(t, ctx, "the title", `document.querySelector('.info .title') !== null && document.querySelector('.info .title').textContent.includes('credvault')`)
	// Every resource the page loaded came from this origin.
	foreign, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length`))
	if err != nil || foreign != 0 {
		t.Fatalf("the page loaded %d resources from elsewhere (%v)", foreign, err)
	}
	if *update {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile("../docs/api-reference.png", shot, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCredentialsPageInChromium drives the credentials page through the
// whole flow: add each type with every field, a live authenticator preview,
// search, type filter, paging, rename, a code on demand, delete with
// confirmation — and checks no stored secret is ever on the page.
func TestCredentialsPageInChromium(t *testing.T) {
	exe := chromiumPath(t)
	h, _, orgID, key := configured(t, testdb.Postgres)
	// Twelve credentials already exist, so there is a second page.
	for i := range 12 {
		if r := h.do("POST", "/api/v1/credentials", key, secretBody(fmt.Sprintf("Existing %02d", i), "old")); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	resp, err := http.Get(h.srv.URL + "/settings/credentials")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || strings.Contains(csp, "unsafe") {
		t.Fatalf("credentials page: %d CSP %q", resp.StatusCode, csp)
	}

	ctx := newBrowser(t, exe)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	set := func(id, v string) chromedp.Action[chromedp.Void] { return chromedp.SendKeys(chromedp.ID(id), v) }
	choose := func(id, v string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event('change')); return true })()`, id, v))); err != nil {
			t.Fatal(err)
		}
	}
	rows := `document.querySelectorAll('#rows tr').length`
	// On a timeout, what this page shows (the settings page's waitFor
	// reads elements this page does not have).
	shows := `'list: ' + document.getElementById('list-result').innerText + ' | form: ' + document.getElementById('form-result').innerText +
		' | key: ' + document.getElementById('key-error').innerText + ' | rows: ' + document.querySelectorAll('#rows tr').length +
		' | names: ' + Array.from(document.querySelectorAll('#rows td.name')).map(e => e.textContent).join('|')`
	waitFor := func(t *testing.T, ctx context.Context, what, expr string) {
		t.Helper()
		waitShowing(t, ctx, 15*time.Second, what, expr, shows)
	}
	names := `Array.from(document.querySelectorAll('#rows td.name')).map(e => e.textContent).join('|')`

	do(chromedp.Navigate(h.srv.URL+"/settings/credentials"), set("api-key", key), chromedp.Click(chromedp.ID("key-use")))
	waitFor(t, ctx, "the first page", rows+` === 10`)
	do(chromedp.Click(chromedp.ID("next")))
	waitFor(t, ctx, "the second page", rows+` === 2 && `+text("page-label")+` === 'Page 2'`)
	do(chromedp.Click(chromedp.ID("prev")))
	waitFor(t, ctx, "back on page 1", rows+` === 10`)

	// A password with an authenticator seed and metadata: the form shows a
	// live code before saving.
	do(chromedp.Click(chromedp.ID("add-btn")), set("f-name", "Bank"), set("f-username", "alice@example.com"), set("f-password", pwSecret))
	choose("f-totp-type", "authenticator")
	do(set("f-totp", totpSeed), set("f-meta", "site=bank\nowner=alice"))
	waitFor(t, ctx, "the live code preview", text("totp-preview")+`.match(/^\d{6} — \d+ s left$/) !== null`)
	do(chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the saved password", text("list-result")+` === 'Saved “Bank”.'`)

	// A card with every field.
	do(chromedp.Click(chromedp.ID("add-btn")))
	choose("f-type", "credit_card")
	do(set("f-name", "Corporate card"), set("f-holder", "Alice Smith"), set("f-number", cardNumber), set("f-month", "07"),
		set("f-year", "2031"), set("f-cvv", cardCVV), set("f-brand", "Visa"), set("f-line1", "1 Main St"), set("f-line2", "Apt 4"),
		set("f-city", "Springfield"), set("f-state", "Oregon"), set("f-postal", "12345"), set("f-country", "United States"),
		set("f-country-code", "US"), set("f-email", "billing@example.com"), set("f-phone", "+1 555 0100"), set("f-meta", "cost center=42"))
	do(chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the saved card", text("list-result")+` === 'Saved “Corporate card”.'`)

	// A secret; a missing field is refused in words first.
	do(chromedp.Click(chromedp.ID("add-btn")))
	choose("f-type", "secret")
	do(set("f-name", "OpenAI"), chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the missing secret in words", text("form-result")+`.startsWith('Secret value: ')`)
	do(set("f-secret", apiSecret), set("f-label", "prod"), chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the saved secret", text("list-result")+` === 'Saved “OpenAI”.'`)

	// Search and type filter.
	do(set("search", "corporate"))
	waitFor(t, ctx, "the search", names+` === 'Corporate card'`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`(() => { const s = document.getElementById('search'); s.value = ''; return s.dispatchEvent(new Event('input')) })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the search cleared", rows+` === 10`)
	choose("type-filter", "password")
	waitFor(t, ctx, "the type filter", names+` === 'Bank'`)

	// A code on demand, with its countdown.
	do(chromedp.Click(chromedp.CSS(`#rows tr:first-child .code-btn`)))
	waitFor(t, ctx, "the code", `document.querySelector('#rows .code-cell').textContent.match(/^\d{6} — \d+ s left$/) !== null`)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#rows .code-cell').dataset.code`))
	if err != nil {
		t.Fatal(err)
	}
	// The page's code is the API's: the current one, or the previous one if
	// the period rolled over between the two reads.
	code, err := h.p.Credentials.TOTPCode(context.Background(), orgID, mustFirstID(t, h, key, "Bank"))
	if err != nil {
		t.Fatal(err)
	}
	previous, _, _ := vault.TOTPCode(vault.NewSecret(totpSeed), time.Now().Add(-30*time.Second))
	if shown != code.Code && shown != previous {
		t.Fatalf("page shows code %q, the API says %q", shown, code.Code)
	}

	// Rename.
	do(chromedp.Click(chromedp.CSS(`#rows tr:first-child .rename-btn`)))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('#rows td.name input'); i.value = 'Bank (personal)'; return true })()`)); err != nil {
		t.Fatal(err)
	}
	do(chromedp.Click(chromedp.CSS(`#rows .rename-save`)))
	waitFor(t, ctx, "the rename", names+` === 'Bank (personal)'`)

	// Screenshots (only with -update), wide and narrow.
	if *update {
		choose("type-filter", "")
		waitFor(t, ctx, "every type", rows+` === 10`)
		for _, v := range []struct {
			file  string
			width int64
		}{{"../docs/credentials-1280.png", 1280}, {"../docs/credentials-390.png", 390}} {
			do(chromedp.EmulateViewport(v.width, 900))
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err == nil {
				err = os.WriteFile(v.file, shot, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		do(chromedp.EmulateViewport(1000, 1000))
		choose("type-filter", "password")
		waitFor(t, ctx, "the password again", names+` === 'Bank (personal)'`)
	}

	// Delete with confirmation: cancel first, then confirm.
	do(chromedp.Click(chromedp.CSS(`#rows tr:first-child .delete-btn`)))
	waitFor(t, ctx, "the confirmation", `!document.getElementById('confirm').hidden`)
	do(chromedp.Click(chromedp.ID("confirm-no")))
	do(chromedp.Click(chromedp.CSS(`#rows tr:first-child .delete-btn`)), chromedp.Click(chromedp.ID("confirm-yes")))
	waitFor(t, ctx, "the deletion", text("list-result")+` === 'Deleted “Bank (personal)”.'`)

	// No stored secret was ever on the page.
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{pwSecret, totpSeed, cardNumber, apiSecret, "1 Main St", "billing@example.com"} {
		if strings.Contains(page, s) {
			t.Error("the page shows a stored secret")
		}
	}
}

func mustFirstID(t *testing.T, h *harness, key, name string) string {
	t.Helper()
	var vs []map[string]any
	_ = json.Unmarshal(h.do("GET", "/api/v1/credentials?search="+url.QueryEscape(name)+"&credential_type=password", key, nil).body, &vs)
	if len(vs) == 0 {
		t.Fatalf("no credential %q", name)
	}
	return vs[0]["credential_id"].(string)
}
