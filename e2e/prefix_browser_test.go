package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
)

// TestPagesUnderAPrefixInChromium mounts credvault as an embedding backend
// does, http.StripPrefix("/credvault", p.Handler()) in the host's own mux,
// and drives the settings, credentials and docs pages there: their assets,
// API calls, links and paging stay under the prefix (nothing reaches the
// host's other routes), with no option set.
func TestPagesUnderAPrefixInChromium(t *testing.T) {
	exe := chromiumPath(t)
	h := newHarness(t, testdb.SQLite)
	svc := fakeservice.New(t, svcToken)
	_, key := h.org("Embedded")
	var outside atomic.Int64
	var escaped atomicStrings
	mux := http.NewServeMux()
	mux.Handle("/credvault/", http.StripPrefix("/credvault", h.p.Handler()))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		outside.Add(1)
		escaped.add(r.URL.Path)
		http.NotFound(w, r)
	})
	host := httptest.NewServer(mux)
	t.Cleanup(host.Close)
	base := host.URL + "/credvault"

	// A page asked for with a trailing slash lands on its URL without one.
	resp, err := http.Get(base + "/settings/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/credvault/settings" {
		t.Fatalf("/credvault/settings/ ended at %s with %d", resp.Request.URL.Path, resp.StatusCode)
	}

	ctx := newBrowser(t, exe)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	do(chromedp.Navigate(base + "/settings"))
	waitFor(t, ctx, "the stylesheet to apply", `getComputedStyle(document.getElementById('status-details')).display === 'none'`)
	do(chromedp.SendKeys(chromedp.ID("api-key"), key), chromedp.Click(chromedp.ID("key-use")))
	waitFor(t, ctx, "Not configured", text("status-badge")+` === 'Not configured'`)
	do(chromedp.SendKeys(chromedp.ID("base-url"), svc.Base()), chromedp.SendKeys(chromedp.ID("api-token"), svcToken),
		chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "Active", text("status-badge")+` === 'Active'`)
	for i := range 12 {
		if r := h.do("POST", "/api/v1/credentials", key, secretBody(fmt.Sprintf("Existing %02d", i), "old")); r.status != 201 {
			t.Fatal(r.status)
		}
	}

	// The crumb link leads to the credentials page, under the prefix.
	do(chromedp.Click(`nav.crumbs a`))
	waitFor(t, ctx, "the credentials page", `location.pathname === '/credvault/settings/credentials' && document.getElementById('rows') !== null`)
	rows := `document.querySelectorAll('#rows tr').length`
	waitFor(t, ctx, "the first page", rows+` === 10`)
	do(chromedp.Click(chromedp.ID("next")))
	waitFor(t, ctx, "the second page", rows+` === 2`)
	do(chromedp.Click(chromedp.ID("add-btn")), chromedp.SendKeys(chromedp.ID("f-name"), "Under a prefix"),
		chromedp.SendKeys(chromedp.ID("f-username"), "alice"), chromedp.SendKeys(chromedp.ID("f-password"), pwSecret),
		chromedp.Click(chromedp.ID("save-btn")))
	waitFor(t, ctx, "the saved password", text("list-result")+` === 'Saved “Under a prefix”.'`)
	do(chromedp.Click(`nav.crumbs a`))
	waitFor(t, ctx, "back on the settings page", `location.pathname === '/credvault/settings' && `+text("status-badge")+` === 'Active'`)

	do(chromedp.Navigate(base + "/docs"))
	waitFor(t, ctx, "the API reference to render",
		`Array.from(document.querySelectorAll('.opblock-summary-path')).some(e => e.textContent.includes('/api/v1/credentials/{credential_id}/totp-code'))`)

	// The API's next-page link resolves under the prefix too.
	req, _ := http.NewRequest("GET", base+"/api/v1/credentials?page_size=5", nil)
	req.Header.Set("x-api-key", key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	link := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Link"), "<"), `>; rel="next"`)
	next, err := resp.Request.URL.Parse(link)
	if err != nil || !strings.HasPrefix(next.Path, "/credvault/api/v1/credentials") || next.Query().Get("cursor") == "" {
		t.Fatalf("Link %q resolves to %v (%v)", resp.Header.Get("Link"), next, err)
	}
	if n := outside.Load(); n != 0 {
		t.Fatalf("%d requests left the prefix: %v", n, escaped.all())
	}
}
