package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/sealed"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

// each runs f on a fresh store of every kind.
func each(t *testing.T, f func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f(t, storetest.Open(t, kind))
		})
	}
}

func TestOrganizationsKeysAndAudit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, keyID := newOrg(t, s)
		other, _ := newOrg(t, s)
		if o, err := s.GetOrganization(ctx, orgID); err != nil || o.ID != orgID {
			t.Fatalf("get organization: %+v %v", o, err)
		}
		if _, err := s.GetOrganization(ctx, "org_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown organization: %v", err)
		}
		if os, err := s.ListOrganizations(ctx); err != nil || len(os) != 2 {
			t.Fatalf("list organizations: %d %v", len(os), err)
		}
		second := store.APIKey{ID: store.NewID("key"), OrganizationID: orgID, KeyHash: []byte("second"), CreatedAt: s.Now()}
		if err := s.CreateAPIKey(ctx, second); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchAPIKey(ctx, keyID); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListAPIKeys(ctx, orgID)
		if err != nil || len(keys) != 2 {
			t.Fatalf("list keys: %d %v", len(keys), err)
		}
		touched := false
		for _, k := range keys {
			touched = touched || (k.ID == keyID && k.LastUsedAt != nil)
		}
		if !touched {
			t.Fatal("TouchAPIKey did not record the use")
		}
		if k, err := s.APIKeyByHash(ctx, []byte("second")); err != nil || k.ID != second.ID {
			t.Fatalf("key by hash: %+v %v", k, err)
		}
		for i := range 3 {
			if err := s.InsertAuditEvent(ctx, store.AuditEvent{OrganizationID: orgID, Action: fmt.Sprintf("a%d", i), TargetID: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertAuditEvent(ctx, store.AuditEvent{OrganizationID: other, Action: "theirs"}); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListAuditEvents(ctx, orgID)
		if err != nil || len(all) != 3 {
			t.Fatalf("audit: %d %v", len(all), err)
		}
		page, err := s.ListAuditEventsPage(ctx, orgID, 1, 1)
		if err != nil || len(page) != 1 {
			t.Fatalf("audit page: %d %v", len(page), err)
		}
	})
}

func TestAuthTokensHistory(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, _ := newOrg(t, s)
		var ids []string
		for i := range 3 {
			tok := store.AuthToken{ID: store.NewID("cfg"), OrganizationID: orgID, TokenType: "custom", EncryptedToken: []byte{byte(i)},
				Valid: true, CreatedAt: s.Now().Add(time.Duration(i) * time.Millisecond), ModifiedAt: s.Now()}
			if err := s.ReplaceAuthToken(ctx, tok, store.AuditEvent{OrganizationID: orgID, Action: "save"}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tok.ID)
		}
		all, err := s.AuthTokens(ctx, orgID, "custom")
		if err != nil || len(all) != 3 || all[0].ID != ids[2] {
			t.Fatalf("history: %v %v", all, err)
		}
		if old, err := s.AuthTokenByID(ctx, orgID, ids[0]); err != nil || old.Valid {
			t.Fatalf("a replaced configuration: %+v %v", old, err)
		}
		if _, err := s.AuthTokenByID(ctx, "org_other", ids[0]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's configuration: %v", err)
		}
		if n, err := s.InvalidateAuthTokens(ctx, orgID, "custom", store.AuditEvent{OrganizationID: orgID, Action: "clear"}); err != nil || n != 1 {
			t.Fatalf("clear: %d %v", n, err)
		}
		if n, err := s.InvalidateAuthTokens(ctx, orgID, "custom", store.AuditEvent{OrganizationID: orgID, Action: "clear"}); err != nil || n != 0 {
			t.Fatalf("clear again: %d %v", n, err)
		}
		if _, err := s.ValidAuthToken(ctx, orgID, "custom"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after clear: %v", err)
		}
	})
}

func TestFolders(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, _ := newOrg(t, s)
		other, _ := newOrg(t, s)
		desc := "team"
		f := store.Folder{ID: store.NewID("cfld"), OrganizationID: orgID, Title: "Banks", Description: &desc, CreatedAt: s.Now(), ModifiedAt: s.Now()}
		if err := s.CreateFolder(ctx, f); err != nil {
			t.Fatal(err)
		}
		c := newCredential(t, s, orgID, "filed")
		if got, err := s.SetCredentialFolder(ctx, orgID, c.ID, &f.ID); err != nil || got.FolderID == nil || *got.FolderID != f.ID {
			t.Fatalf("file: %+v %v", got, err)
		}
		if _, err := s.SetCredentialFolder(ctx, other, c.ID, &f.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("filing another organization's credential: %v", err)
		}
		got, err := s.GetFolder(ctx, orgID, f.ID)
		if err != nil || got.CredentialCount != 1 {
			t.Fatalf("get folder: %+v %v", got, err)
		}
		if _, err := s.GetFolder(ctx, other, f.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's folder: %v", err)
		}
		list, err := s.ListFolders(ctx, orgID, "ban", 0, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("search folders: %d %v", len(list), err)
		}
		if list, _ := s.ListFolders(ctx, orgID, "zzz", 0, 10); len(list) != 0 {
			t.Fatalf("search found %d", len(list))
		}
		f.Title = "Accounts"
		if up, err := s.UpdateFolder(ctx, f); err != nil || up.Title != "Accounts" {
			t.Fatalf("update folder: %+v %v", up, err)
		}
		if err := s.SoftDeleteFolder(ctx, orgID, f.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SoftDeleteFolder(ctx, orgID, f.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if row, err := s.GetCredential(ctx, orgID, c.ID); err != nil || row.FolderID != nil {
			t.Fatalf("a deleted folder's credential stays filed: %+v %v", row, err)
		}
		if _, err := s.SetCredentialFolder(ctx, orgID, c.ID, &f.ID); !errors.Is(err, store.ErrFolderNotFound) {
			t.Fatalf("filing in a deleted folder: %v", err)
		}
	})
}

func TestCreateLogAndScans(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, _ := newOrg(t, s)
		future := s.Now().Add(time.Hour)
		a := store.CreateAttempt{ID: "cred_x/v2", OrganizationID: orgID, CredentialID: "cred_x", VaultSource: "cfg_1", Operation: "update",
			Owner: "proc_1", LeaseUntil: &future}
		if err := s.RecordCreate(ctx, a); err != nil {
			t.Fatal(err)
		}
		// A retry from another process takes the record over.
		retry := a
		retry.Owner = "proc_2"
		if err := s.RecordCreate(ctx, retry); err != nil {
			t.Fatal(err)
		}
		if err := s.SettleCreate(ctx, a.ID, "proc_1"); !errors.Is(err, store.ErrCreateTakenOver) {
			t.Fatalf("settling a create taken over: %v", err)
		}
		if claimed, err := s.ClaimCreates(ctx, "proc_3", 10, time.Minute); err != nil || len(claimed) != 0 {
			t.Fatalf("claimed a create whose lease runs: %v %v", claimed, err)
		}
		if err := s.MarkCreateLost(ctx, a.ID, "timeout"); err != nil {
			t.Fatal(err)
		}
		cs, err := s.ListCreates(ctx, orgID, time.Now().Add(time.Hour), 10)
		if err != nil || len(cs) != 1 || cs[0].State != store.CreateLost || cs[0].LastError != "timeout" {
			t.Fatalf("creates: %+v %v", cs, err)
		}
		if cs, _ := s.ListCreates(ctx, "", time.Now().Add(-time.Hour), 10); len(cs) != 0 {
			t.Fatalf("creates recorded before an hour ago: %+v", cs)
		}
		// Its lease runs out: a worker of another process takes it.
		if err := s.RecordCreate(ctx, store.CreateAttempt{ID: a.ID, OrganizationID: orgID, CredentialID: "cred_x", VaultSource: "cfg_1",
			Operation: "update", Owner: "proc_2", State: store.CreateLost}); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimCreates(ctx, "proc_3", 10, time.Minute)
		if err != nil || len(claimed) != 1 || claimed[0].Owner != "proc_3" {
			t.Fatalf("claim an expired create: %+v %v", claimed, err)
		}
		if again, _ := s.ClaimCreates(ctx, "proc_4", 10, time.Minute); len(again) != 0 {
			t.Fatal("a claimed create was claimed again within its new lease")
		}
		if err := s.SettleCreate(ctx, a.ID, "proc_3"); err != nil {
			t.Fatal(err)
		}
		unrec := store.CreateAttempt{ID: "cred_y", OrganizationID: orgID, CredentialID: "cred_y", VaultSource: "cfg_1", Operation: "create", Owner: "p"}
		if err := s.RecordCreate(ctx, unrec); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkCreateUnrecoverable(ctx, unrec.ID, "ignores keys"); err != nil {
			t.Fatal(err)
		}
		if claimed, _ := s.ClaimCreates(ctx, "proc_3", 10, time.Minute); len(claimed) != 0 {
			t.Fatal("an unrecoverable create was claimed")
		}
		if err := s.SettleCreate(ctx, unrec.ID, "p"); err != nil {
			t.Fatal(err)
		}
		if cs, _ := s.ListCreates(ctx, orgID, time.Now().Add(time.Hour), 10); len(cs) != 0 {
			t.Fatalf("settled create still listed: %+v", cs)
		}
		for i := range 5 {
			newCredential(t, s, orgID, fmt.Sprintf("c%d", i))
		}
		if n, err := s.CountCredentials(ctx, orgID); err != nil || n != 5 {
			t.Fatalf("count: %d %v", n, err)
		}
		if n, _ := s.CountCredentials(ctx, ""); n != 5 {
			t.Fatalf("count everywhere: %d", n)
		}
		page, err := s.ScanCredentials(ctx, orgID, "", 3)
		if err != nil || len(page) != 3 {
			t.Fatalf("scan: %d %v", len(page), err)
		}
		rest, _ := s.ScanCredentials(ctx, "", page[2].ID, 10)
		if len(rest) != 2 {
			t.Fatalf("scan after %s: %d", page[2].ID, len(rest))
		}
		row := page[0]
		now := s.Now()
		if changed, err := s.SetItemMissing(ctx, orgID, row.ID, "another-item", &now); err != nil || changed {
			t.Fatalf("marking a row re-pointed meanwhile: %v %v", changed, err)
		}
		if changed, err := s.SetItemMissing(ctx, orgID, row.ID, row.ItemID, &now); err != nil || !changed {
			t.Fatalf("mark missing: %v %v", changed, err)
		}
		if lean, err := s.GetCredentialLean(ctx, orgID, row.ID); err != nil || lean.ItemMissingAt == nil {
			t.Fatalf("lean read: %+v %v", lean, err)
		}
		if ok, err := s.ItemReferenced(ctx, orgID, "env", "item"); err != nil || !ok {
			t.Fatalf("referenced: %v %v", ok, err)
		}
		if ok, _ := s.ItemReferenced(ctx, orgID, "cfg_9", "item"); ok {
			t.Fatal("an item of another configuration is referenced")
		}
	})
}

func TestOutboxAndTombstones(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, _ := newOrg(t, s)
		if n, oldest, err := s.DeletionStats(ctx); err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty stats: %d %v %v", n, oldest, err)
		}
		d := store.VaultDeletion{OrganizationID: orgID, ItemID: "item_1", VaultSource: "cfg_1", Reason: "test", CreateKey: "cred_1/v2"}
		if err := s.EnqueueDeletion(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := s.EnqueueDeletion(ctx, store.VaultDeletion{OrganizationID: orgID, ItemID: "item_2", VaultSource: "cfg_1", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		claimed, err := s.ClaimDeletions(ctx, 10, time.Minute)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim: %d %v", len(claimed), err)
		}
		if again, _ := s.ClaimDeletions(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("claimed twice within the lease: %d", len(again))
		}
		if err := s.RetryDeletion(ctx, claimed[0].ID, 1, s.Now().Add(-time.Second), "refused"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDeletion(ctx, claimed[1].ID); err != nil {
			t.Fatal(err)
		}
		ds, err := s.ListDeletions(ctx, 10)
		if err != nil || len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastError != "refused" {
			t.Fatalf("pending: %+v %v", ds, err)
		}
		if n, oldest, _ := s.DeletionStats(ctx); n != 1 || oldest.IsZero() {
			t.Fatalf("stats: %d %v", n, oldest)
		}
		for _, item := range []string{"item_1", "item_2"} {
			if gone, err := s.ItemDeleted(ctx, orgID, "cfg_1", item); err != nil || !gone {
				t.Fatalf("%s not remembered as deleted: %v", item, err)
			}
		}
		if gone, _ := s.ItemDeleted(ctx, orgID, "cfg_2", "item_1"); gone {
			t.Fatal("a tombstone answers for another configuration")
		}
		for want, base := range map[string]string{"cred_1/v2/a2": "cred_1/v2", "cred_1/v3": "cred_1/v3"} {
			if k, err := s.NextCreateKey(ctx, base); err != nil || k != want {
				t.Fatalf("next key after %s = %q %v, want %q", base, k, err, want)
			}
		}
		// A later deletion of the same item under the next key retires it.
		if err := s.EnqueueDeletion(ctx, store.VaultDeletion{OrganizationID: orgID, ItemID: "item_3", VaultSource: "cfg_1", Reason: "t", CreateKey: "cred_1/v2/a2"}); err != nil {
			t.Fatal(err)
		}
		if k, _ := s.NextCreateKey(ctx, "cred_1/v2"); k != "cred_1/v2/a3" {
			t.Fatalf("next key after two retirements = %q", k)
		}
		if n, err := s.PruneTombstones(ctx, s.Now().Add(time.Hour)); err != nil || n != 3 {
			t.Fatalf("prune: %d %v", n, err)
		}
		if k, _ := s.NextCreateKey(ctx, "cred_1/v2"); k != "cred_1/v2" {
			t.Fatalf("after pruning: %q", k)
		}
	})
}

func TestOTPCodesCanaryAndSealed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		orgID, _ := newOrg(t, s)
		if _, err := s.ReadKeysetCanary(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("canary before the first start: %v", err)
		}
		first, err := s.KeysetCanary(ctx, []byte("one"))
		if err != nil || string(first) != "one" {
			t.Fatal(err)
		}
		if again, _ := s.KeysetCanary(ctx, []byte("two")); string(again) != "one" {
			t.Fatalf("the second process rewrote the canary: %q", again)
		}
		if read, err := s.ReadKeysetCanary(ctx); err != nil || string(read) != "one" {
			t.Fatalf("read canary: %q %v", read, err)
		}
		magic := "magic_link"
		for i, exp := range []time.Duration{time.Hour, -time.Minute} {
			c := store.OTPCode{ID: store.NewID("otp"), OrganizationID: orgID, TOTPIdentifier: "a@example.com", OTPType: &magic,
				Ciphertext: []byte{byte(i)}, CreatedAt: s.Now(), ExpiresAt: s.Now().Add(exp)}
			if err := s.InsertOTPCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		codes, err := s.ListOTPCodes(ctx, orgID, store.OTPFilter{TOTPIdentifier: "a@example.com", OTPType: "magic_link", Limit: 10})
		if err != nil || len(codes) != 1 {
			t.Fatalf("unexpired codes: %d %v", len(codes), err)
		}
		set := s.Sealed("totp_codes", sealed.Column{Table: "totp_codes", ID: "id", Ciphertext: "ciphertext", Extra: []string{"organization_id"}},
			func(v sealed.Value) []byte { return []byte(v.Extra[0]) })
		rows, err := set.Scan(ctx, "", 10)
		if err != nil || len(rows) != 2 || string(rows[0].AD) != orgID {
			t.Fatalf("sealed scan: %+v %v", rows, err)
		}
		if ok, err := set.Replace(ctx, rows[0].ID, rows[0].Ciphertext, []byte("new")); err != nil || !ok {
			t.Fatalf("replace: %v %v", ok, err)
		}
		if ok, _ := set.Replace(ctx, rows[0].ID, rows[0].Ciphertext, []byte("newer")); ok {
			t.Fatal("a replace of a changed ciphertext succeeded")
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestChangesReachAnotherStore: a change published through one store
// reaches a listener on another store of the same database (PostgreSQL
// NOTIFY; the SQLite change log), but not its own.
func TestChangesReachAnotherStore(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			opts := sqlstore.Options{}
			if kind == testdb.Postgres {
				opts.DatabaseURL = testdb.PostgresURL(t)
			} else {
				opts.SQLitePath = testdb.SQLitePath(t)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, err := sqlstore.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.Migrate(ctx, storeMigrations()); err != nil {
				t.Fatal(err)
			}
			b, err := sqlstore.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make(chan sqlstore.Change, 4)
			ready := make(chan struct{}, 4)
			go b.Listen(ctx, sqlstore.ListenOptions{OnChange: func(c sqlstore.Change) { got <- c }, OnReady: func() { ready <- struct{}{} }})
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatal("the listener never subscribed")
			}
			if kind == testdb.Postgres && b.Channel() == "" {
				t.Fatal("no channel on PostgreSQL")
			}
			if err := b.Publish(ctx, sqlstore.TopicAPIKey, "own"); err != nil {
				t.Fatal(err)
			}
			if err := a.Publish(ctx, sqlstore.TopicAPIKey, "key_1"); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-got:
				if c.Topic != sqlstore.TopicAPIKey || c.Payload != "key_1" {
					t.Fatalf("change %+v, want the other store's key_1 (not its own)", c)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the change never arrived")
			}
		})
	}
}

func storeMigrations() migrations.Set { return migrations.Credvault }
