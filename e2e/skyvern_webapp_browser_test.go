package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credvault/credvault/internal/testdb"
)

// skyvernPlaceholder is the API origin scripts/skyvern-webapp.sh builds
// Skyvern's web app with; the test serves the bundle with its own origin
// in its place.
const skyvernPlaceholder = "http://127.0.0.1:65534"

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestSkyvernWebAppInChromium drives Skyvern's own web app, built from its
// source by scripts/skyvern-webapp.sh (CREDVAULT_SKYVERN_DIST names the
// bundle), against credvault on one origin: the credentials page and each
// of its five tabs show no error box, and no request the app makes of the
// credential API fails (what it asks of the rest of Skyvern's
// backend is logged); a magic link pushed from the Magic Links tab, its
// URL holding digits, is listed there as a link; a password made in the
// app's form is stored and listed.
func TestSkyvernWebAppInChromium(t *testing.T) {
	dist := os.Getenv("CREDVAULT_SKYVERN_DIST")
	if dist == "" {
		t.Skip("CREDVAULT_SKYVERN_DIST is unset; scripts/skyvern-webapp.sh builds Skyvern's web app and runs this test")
	}
	exe := chromiumPath(t)
	h, _, orgID, key := configured(t, testdb.SQLite)
	if r := h.do("POST", "/api/v1/credentials", key, passwordBody("GitHub")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}

	// failed: requests of the credential API that failed; elsewhere: what
	// the app asks of the rest of Skyvern's backend (browser profiles, its
	// internal status routes), which the platform embedding credvault serves.
	var failed, elsewhere atomicStrings
	api := h.p.Handler()
	var origin string
	static := http.FileServer(http.Dir(dist))
	mux := http.NewServeMux()
	apiRoute := func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		api.ServeHTTP(rec, r)
		if rec.status < 400 {
			return
		}
		line := fmt.Sprintf("%s %s = %d", r.Method, r.URL.Path, rec.status)
		if strings.HasPrefix(r.URL.Path, "/api/v1/credentials") || strings.HasPrefix(r.URL.Path, "/v1/credentials") {
			failed.add(line)
		} else {
			elsewhere.add(line)
		}
	}
	mux.HandleFunc("/api/", apiRoute)
	mux.HandleFunc("/v1/", apiRoute)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p := filepath.Join(dist, filepath.FromSlash(path.Clean(r.URL.Path)))
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			// The app's own routes (/credentials) are its index page.
			http.ServeFile(w, r, filepath.Join(dist, "index.html"))
			return
		}
		if strings.HasSuffix(p, ".js") {
			b, err := os.ReadFile(p)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(bytes.ReplaceAll(b, []byte(skyvernPlaceholder), []byte(origin)))
			return
		}
		static.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(mux)
	origin = "http://" + srv.Listener.Addr().String() // known before any request is served
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := newBrowser(t, exe)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	body := `document.body.innerText`
	wait := func(what, expr string) {
		t.Helper()
		waitShowing(t, ctx, 30*time.Second, what, expr, body)
	}
	noError := func(tab string) {
		t.Helper()
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](body))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"Couldn't", "Could not", "Failed", "unavailable", "Something went wrong", "Error"} {
			if strings.Contains(shown, bad) {
				t.Errorf("the %s tab shows %q:\n%s", tab, bad, scrub(shown))
			}
		}
	}

	// The app keeps its API key in sessionStorage, as a signed-in tab does.
	run("open", chromedp.Navigate(origin+"/favicon.png"))
	run("key", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("skyvern.apiKey", %q)`, key)))
	run("credentials page", chromedp.Navigate(origin+"/credentials"))
	wait("the password list", body+`.includes("GitHub") && `+body+`.includes("alice")`)
	// The 1Password and Bitwarden lists settle after credvault's list.
	wait("the vault lists to settle", `!document.querySelector('[class*="animate-pulse"]')`)
	noError("Passwords")

	tab := func(name string) {
		t.Helper()
		run("tab "+name, chromedp.Click(chromedp.Search(fmt.Sprintf(`//button[@role="tab" and normalize-space()=%q]`, name))))
		wait(name+" to be selected", fmt.Sprintf(`[...document.querySelectorAll('[role="tab"]')].some(e => e.textContent.trim() === %q && e.getAttribute('aria-selected') === 'true')`, name))
	}
	tab("Credit Cards")
	wait("the empty card list", `!document.querySelector('[class*="animate-pulse"]')`)
	noError("Credit Cards")
	tab("Secrets")
	wait("the empty secret list", `!document.querySelector('[class*="animate-pulse"]')`)
	noError("Secrets")
	tab("2FA")
	wait("the empty 2FA list", body+`.includes("No 2FA codes yet")`)
	noError("2FA")

	// A magic link pushed from its tab, its URL holding digits, is listed
	// there as the link.
	link := "https://app.example.com/login?token=8675309&next=%2Fhome"
	tab("Magic Links")
	wait("the empty magic-link list", body+`.includes("No magic links yet")`)
	noError("Magic Links")
	run("push a magic link",
		chromedp.SendKeys(chromedp.ID("totp-identifier-input"), "bob@example.com"),
		chromedp.SendKeys(chromedp.ID("totp-content-input"), "Click to sign in: "+link),
		chromedp.Click(chromedp.Search(`//button[@type="submit" and normalize-space()="Send Magic Link"]`)))
	// The app renders a stored link as "Open magic link" pointing at it.
	wait("the magic link in its tab", fmt.Sprintf(`[...document.querySelectorAll('table td a')].some(a => a.href === %q && a.innerText.trim() === "Open magic link")`, link))
	noError("Magic Links")
	var codes []map[string]any
	r := h.do("GET", "/api/v1/credentials/totp?otp_type=magic_link", key, nil)
	if err := json.Unmarshal(r.body, &codes); err != nil || len(codes) != 1 || codes[0]["code"] != link || codes[0]["otp_type"] != "magic_link" {
		t.Errorf("stored magic links = %d %s", r.status, r.body)
	}
	// On the 2FA tab the same message is labelled a magic link, not a code.
	tab("2FA")
	wait("the link on the 2FA tab", fmt.Sprintf(`[...document.querySelectorAll('table tr')].some(tr => [...tr.querySelectorAll('a')].some(a => a.href === %q) && tr.innerText.includes("Magic link"))`, link))

	// A password made in the app's own form is stored through credvault
	// and listed on the Passwords tab.
	tab("Passwords")
	field := func(label string) chromedp.Search {
		return chromedp.Search(fmt.Sprintf(`//div[@role="dialog"]//label[normalize-space()=%q]/following::input[1]`, label))
	}
	run("open the password form",
		chromedp.Click(chromedp.Search(`//button[normalize-space()="Add"]`)),
		chromedp.Click(chromedp.Search(`//div[@role="menuitem" and normalize-space()="Password"]`)),
		chromedp.WaitVisible(field("Name")))
	run("fill the password form",
		chromedp.SendKeys(field("Name"), "Made in Skyvern"),
		chromedp.SendKeys(field("Username or Email"), "carol@example.com"),
		chromedp.SendKeys(field("Password"), pwSecret),
		chromedp.Click(chromedp.Search(`//div[@role="dialog"]//button[normalize-space()="Save"]`)))
	wait("the dialog to close", `!document.querySelector('[role="dialog"]')`)
	wait("the new password in the list", body+`.includes("Made in Skyvern") && `+body+`.includes("carol@example.com")`)
	noError("Passwords")
	var list []map[string]any
	r = h.do("GET", "/api/v1/credentials?page_size=10", key, nil)
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 2 {
		t.Fatalf("credentials after the app's create = %d %s", r.status, scrub(string(r.body)))
	}
	for _, c := range list {
		if c["name"] != "Made in Skyvern" {
			continue
		}
		id, _ := c["credential_id"].(string)
		got, err := h.p.Credentials.GetWithSecret(context.Background(), orgID, id)
		if err != nil || got.Credential.Password == nil || got.Credential.Password.Password.Reveal() != pwSecret || got.Credential.Password.Username != "carol@example.com" {
			t.Errorf("the app's password was not stored as typed (%v)", err)
		}
	}

	if f := failed.all(); len(f) > 0 {
		t.Errorf("requests of the credential API that failed:\n%s", strings.Join(f, "\n"))
	}
	if e := elsewhere.all(); len(e) > 0 {
		t.Logf("routes of Skyvern's backend outside credvault the app asked for (no error shown):\n%s", strings.Join(e, "\n"))
	}
}
