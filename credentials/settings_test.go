package credentials_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/problem"
)

// TestPatchAndSettings: a rename and every setting, validated and
// applied; an empty patch and a blank name are refused.
func TestPatchAndSettings(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	v, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{TestedURL: field("https://example.com/login")})
	if err != nil || v.TestedURL == nil || *v.TestedURL != "https://example.com/login" {
		t.Fatalf("create with a setting: %+v %v", v, err)
	}
	geo := json.RawMessage(`{"country":"US","subdivision":"CA","city":"San Francisco"}`)
	got, err := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{
		Name: field("renamed"), UserContext: field("ctx"), BrowserProfileID: field("bp_1"), AutoProfileDisabled: field(true),
		PinSavedSessionIP: field(true), SaveBrowserSessionIntent: field(true), RunSequentially: field(true),
		ProxyLocation: field(geo), ProxySessionID: field("  sess  "),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || *got.UserContext != "ctx" || *got.BrowserProfileID != "bp_1" || !*got.AutoProfileDisabled ||
		!got.PinSavedSessionIP || !*got.SaveBrowserSessionIntent || !got.RunSequentially || *got.ProxySessionID != "sess" ||
		!strings.Contains(string(got.ProxyLocation), "San Francisco") {
		t.Fatalf("after the patch: %+v", got)
	}
	if got, _ := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{ProxyLocation: field(json.RawMessage(` "RESIDENTIAL" `))}); string(got.ProxyLocation) != `"RESIDENTIAL"` {
		t.Fatalf("proxy location name: %s", got.ProxyLocation)
	}
	if got, _ := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{ProxyLocation: credentials.Field[json.RawMessage]{Set: true}}); got.ProxyLocation != nil && string(got.ProxyLocation) != "null" {
		t.Fatalf("proxy location cleared: %s", got.ProxyLocation)
	}
	for want, p := range map[string]credentials.Patch{
		"":               {},
		"name":           {Name: field("  ")},
		"user_context":   {UserContext: field(strings.Repeat("u", 1001))},
		"proxy_location": {ProxyLocation: field(json.RawMessage(`{"country":1}`))},
		"tested_url":     {TestedURL: field("a\x00b")},
	} {
		if _, err := svc.Patch(ctx, "org_a", v.CredentialID, p); invalidField(err) != want {
			t.Errorf("patch for %q: %v", want, err)
		}
	}
	if _, err := svc.Patch(ctx, "org_b", v.CredentialID, credentials.Patch{Name: field("x")}); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("another organization's patch: %v", err)
	}
	if view, _ := svc.Get(ctx, "org_a", v.CredentialID); view.Name != "renamed" {
		t.Fatalf("get after patch: %q", view.Name)
	}
}

func TestNormalizeProxyLocation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`null`: "", ` "residential_gb" `: `"residential_gb"`, `{"country":"gb"}`: `"country":"GB"`,
	} {
		got, err := credentials.NormalizeProxyLocation(json.RawMessage(in))
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("%s → %s %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`"has space"`, `12`, `{"country":"USA"}`, `{"city":"x"}`, `{"country":"US","x":1}`, `"`} {
		if _, err := credentials.NormalizeProxyLocation(json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
