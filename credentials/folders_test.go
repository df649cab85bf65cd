package credentials_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/problem"
)

// TestFoldersLifecycle: create, get, list, update, file, unfile and
// delete folders, with every bad input named.
func TestFoldersLifecycle(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	folders := svc.Folders()
	desc := "work"
	f, err := folders.Create(ctx, "org_a", "Banks", &desc)
	if err != nil || f.Title != "Banks" {
		t.Fatalf("create: %+v %v", f, err)
	}
	c, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	if v, err := folders.Assign(ctx, "org_a", c.CredentialID, &f.FolderID); err != nil || v.FolderID == nil {
		t.Fatalf("assign: %+v %v", v, err)
	}
	if got, err := folders.Get(ctx, "org_a", f.FolderID); err != nil || got.CredentialCount != 1 {
		t.Fatalf("get: %+v %v", got, err)
	}
	if l, err := folders.List(ctx, "org_a", 1, 10, "ban"); err != nil || len(l) != 1 {
		t.Fatalf("list: %d %v", len(l), err)
	}
	title := "Accounts"
	if up, err := folders.Update(ctx, "org_a", f.FolderID, &title, nil); err != nil || up.Title != "Accounts" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if v, err := folders.Assign(ctx, "org_a", c.CredentialID, nil); err != nil || v.FolderID != nil {
		t.Fatalf("unfile: %+v %v", v, err)
	}
	if err := folders.Delete(ctx, "org_a", f.FolderID); err != nil {
		t.Fatal(err)
	}
	if _, err := folders.Get(ctx, "org_a", f.FolderID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("a deleted folder: %v", err)
	}
	if _, err := folders.Get(ctx, "org_b", "cfld_x"); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("an unknown folder: %v", err)
	}
	long := strings.Repeat("d", 5000)
	blank := "  "
	for want, run := range map[string]func() error{
		"title":       func() error { _, err := folders.Create(ctx, "org_a", " ", nil); return err },
		"description": func() error { _, err := folders.Create(ctx, "org_a", "x", &long); return err },
		"folder_id":   func() error { _, err := folders.Get(ctx, "org_a", "a\x00"); return err },
		"page_size":   func() error { _, err := folders.List(ctx, "org_a", 1, 10_000, ""); return err },
		"title ":      func() error { _, err := folders.Update(ctx, "org_a", f.FolderID, &blank, nil); return err },
	} {
		if got := invalidField(run()); got != strings.TrimSpace(want) {
			t.Errorf("%s: %s", want, got)
		}
	}
}
