package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/credvault/credvault/internal/testdb"
)

// TestCredentialsPageLayoutInChromium: an empty organization is invited
// to add its first credential (not told nothing matches); at 1280 px no
// name or username breaks inside a word and the form's buttons stand
// apart; at 390 px nothing overflows the screen. Screenshots of both
// widths are written only with -update.
func TestCredentialsPageLayoutInChromium(t *testing.T) {
	exe := chromiumPath(t)
	h, _, _, key := configured(t, testdb.SQLite)
	ctx := newBrowser(t, exe)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	do(chromedp.EmulateViewport(1280, 900), chromedp.Navigate(h.srv.URL+"/settings/credentials"),
		chromedp.SendKeys(chromedp.ID("api-key"), key), chromedp.Click(chromedp.ID("key-use")))
	waitFor(t, ctx, "the empty state", `!document.getElementById('list-empty').hidden && `+text("list-empty")+`.includes('first')`)
	// A search that matches nothing still says so.
	do(chromedp.SendKeys(chromedp.ID("search"), "zzz"))
	waitFor(t, ctx, "no match", text("list-empty")+` === 'No credentials match.'`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById('search').value = '') === ''`)); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"GitHub", "Corporate Amex Platinum", "Staging database (read only)"} {
		b := passwordBody(name)
		b["credential"].(map[string]any)["username"] = "alice.longname@subsidiary.example.com"
		if r := h.do("POST", "/api/v1/credentials", key, b); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	do(chromedp.Reload())
	waitFor(t, ctx, "the list", `document.querySelectorAll('#rows tr').length === 3`)
	// A word broken across lines shows as a text node split over several
	// line boxes at a point inside the word: check every word fits on one.
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
	  const out = [];
	  for (const td of document.querySelectorAll('#rows td')) {
	    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
	    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
	      const re = /\S+/g; let m;
	      while ((m = re.exec(n.textContent))) {
	        const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
	        const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top)));
	        if (tops.size > 1) out.push(m[0]);
	      }
	    }
	  }
	  return out.join(' | ');
	})()`))
	if err != nil || broken != "" {
		t.Fatalf("words broken across lines at 1280 px: %q (%v)", broken, err)
	}
	// The list stays inside its card.
	spill, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('list').getBoundingClientRect().right - document.getElementById('list').closest('fieldset, section').getBoundingClientRect().right`))
	if err != nil || spill > 0 {
		t.Fatalf("the list spills %.0f px out of its card at 1280 px (%v)", spill, err)
	}
	do(chromedp.Click(chromedp.ID("add-btn")))
	gap, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('cancel-btn').getBoundingClientRect().left - document.getElementById('save-btn').getBoundingClientRect().right`))
	if err != nil || gap < 8 {
		t.Fatalf("Save and Cancel stand %.1f px apart at 1280 px, want 8 or more (%v)", gap, err)
	}
	do(chromedp.Click(chromedp.ID("cancel-btn")))
	for _, width := range []int64{1280, 390} {
		do(chromedp.EmulateViewport(width, 900))
		over, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil || over > 0 {
			t.Errorf("at %d px the page overflows by %.0f px (%v)", width, over, err)
		}
		if *update {
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err == nil {
				err = os.WriteFile(fmt.Sprintf("../docs/credentials-%d.png", width), shot, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
