package credentials_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/vault"
)

// TestListPagesFiltersAndCursors: newest first, page and page_size, the
// cursor continuing without skipping, type and text filters, a vault type
// other than custom, and every bad parameter named.
func TestListPagesFiltersAndCursors(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	for i := range 5 {
		if _, err := svc.Create(ctx, "org_a", secret(fmt.Sprintf("item %d", i), "v"), credentials.Patch{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, "org_a", password("Bank 100%", "JBSWY3DPEHPK3PXP"), credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.List(ctx, "org_a", credentials.ListOptions{PageSize: 4})
	if err != nil || len(p.Views) != 4 || p.Next == "" || p.Views[0].Name != "Bank 100%" {
		t.Fatalf("first page: %d %q %v", len(p.Views), p.Next, err)
	}
	rest, err := svc.List(ctx, "org_a", credentials.ListOptions{PageSize: 4, Cursor: p.Next})
	if err != nil || len(rest.Views) != 2 || rest.Next != "" {
		t.Fatalf("after the cursor: %d %q %v", len(rest.Views), rest.Next, err)
	}
	if p2, _ := svc.List(ctx, "org_a", credentials.ListOptions{Page: 2, PageSize: 4}); len(p2.Views) != 2 || p2.Views[0].CredentialID != rest.Views[0].CredentialID {
		t.Fatal("page 2 differs from the cursor's page")
	}
	if pw, _ := svc.List(ctx, "org_a", credentials.ListOptions{Type: vault.TypePassword}); len(pw.Views) != 1 {
		t.Fatalf("type filter: %d", len(pw.Views))
	}
	if s, _ := svc.List(ctx, "org_a", credentials.ListOptions{Search: "100%"}); len(s.Views) != 1 {
		t.Fatalf("literal search: %d", len(s.Views))
	}
	if s, _ := svc.List(ctx, "org_a", credentials.ListOptions{Search: "%"}); len(s.Views) != 1 {
		t.Fatalf("%% is literal: %d", len(s.Views))
	}
	if other, _ := svc.List(ctx, "org_a", credentials.ListOptions{VaultType: "bitwarden"}); len(other.Views) != 0 {
		t.Fatal("a vault type other than custom lists something")
	}
	if b, _ := svc.List(ctx, "org_b", credentials.ListOptions{}); len(b.Views) != 0 {
		t.Fatal("another organization's list is not empty")
	}
	for want, o := range map[string]credentials.ListOptions{
		"page":            {Page: -1},
		"page_size":       {PageSize: credentials.MaxPageSize + 1},
		"credential_type": {Type: "bogus"},
		"search":          {Search: strings.Repeat("s", 257)},
		"folder_id":       {FolderID: "f\x00"},
		"cursor":          {Cursor: "c1.not-base64!"},
	} {
		if _, err := svc.List(ctx, "org_a", o); invalidField(err) != want {
			t.Errorf("list %+v: %v, want invalid %s", o, err, want)
		}
	}
	if _, err := svc.List(ctx, "org_a", credentials.ListOptions{Page: 5000, PageSize: 100}); invalidField(err) != "page" {
		t.Errorf("a page beyond the offset bound: %v", err)
	}
}
