package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

// EnqueueDeletion records d (inside Tx: with the row change it goes with)
// and its item's tombstone.
func (s *Store) EnqueueDeletion(ctx context.Context, d store.VaultDeletion) error {
	if d.ID == "" {
		d.ID = store.NewID("del")
	}
	now := s.Now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = now
	}
	if err := s.ctx(ctx).Omit("CreateKey").Create(&d).Error; err != nil {
		return wrap("enqueue vault deletion", err)
	}
	ts := Tombstone{OrganizationID: d.OrganizationID, VaultSource: d.VaultSource, ItemID: d.ItemID, CreateKey: d.CreateKey, CreatedAt: now}
	onConflict := clause.OnConflict{DoNothing: true}
	if d.CreateKey != "" {
		onConflict = clause.OnConflict{Columns: []clause.Column{{Name: "organization_id"}, {Name: "vault_source"}, {Name: "item_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"create_key"})}
	}
	return wrap("record vault tombstone", s.ctx(ctx).Clauses(onConflict).Create(&ts).Error)
}

// Tombstone is a vault item credvault recorded for deletion, kept for
// TombstoneRetention: a create answered with it is refused, and its
// CreateKey is never sent again.
type Tombstone struct {
	OrganizationID string
	VaultSource    string
	ItemID         string
	CreateKey      string
	CreatedAt      time.Time
}

// TableName implements gorm's tabler.
func (Tombstone) TableName() string { return "vault_tombstones" }

// ItemDeleted reports whether credvault recorded the deletion of the item
// itemID stored through source.
func (s *Store) ItemDeleted(ctx context.Context, orgID, source, itemID string) (bool, error) {
	var n int64
	err := s.ctx(ctx).Model(&Tombstone{}).Where("organization_id = ? AND vault_source = ? AND item_id = ?", orgID, source, itemID).
		Limit(1).Count(&n).Error
	return n > 0, wrap("find vault tombstone", err)
}

// NextCreateKey returns the Idempotency-Key for the next attempt of the
// create base names: base itself, unless an item stored under it was
// deleted since, then "<base>/a2", "<base>/a3"... A key whose item
// credvault deleted is never sent again, so a service that replays keys
// cannot answer a retry with that deleted item.
func (s *Store) NextCreateKey(ctx context.Context, base string) (string, error) {
	var keys []string
	err := s.ctx(ctx).Model(&Tombstone{}).Where("create_key = ? OR (create_key >= ? AND create_key < ?)", base, base+"/a", base+"/b").
		Pluck("create_key", &keys).Error
	if err != nil {
		return "", wrap("find retired create keys", err)
	}
	last := 0
	for _, k := range keys {
		n := 1
		if k != base {
			var err error
			if n, err = strconv.Atoi(strings.TrimPrefix(k, base+"/a")); err != nil {
				continue
			}
		}
		last = max(last, n)
	}
	if last == 0 {
		return base, nil
	}
	return base + "/a" + strconv.Itoa(last+1), nil
}

// PruneTombstones forgets tombstones recorded before before.
func (s *Store) PruneTombstones(ctx context.Context, before time.Time) (int64, error) {
	res := s.ctx(ctx).Where("created_at < ?", before).Delete(&Tombstone{})
	return res.RowsAffected, wrap("prune vault tombstones", res.Error)
}

// ClaimDeletions takes up to limit due deletions and hides them from other
// workers for lease: on PostgreSQL with FOR UPDATE SKIP LOCKED, so
// replicas never take the same one at once.
func (s *Store) ClaimDeletions(ctx context.Context, limit int, lease time.Duration) ([]store.VaultDeletion, error) {
	// A cheap look first: most ticks find nothing due, and need no
	// transaction (nor, on SQLite, the write lock).
	var due int64
	if err := s.ctx(ctx).Model(&store.VaultDeletion{}).Where("next_attempt_at <= ?", s.Now()).Limit(1).Count(&due).Error; err != nil {
		return nil, wrap("look for due vault deletions", err)
	}
	if due == 0 {
		return nil, nil
	}
	var ds []store.VaultDeletion
	err := s.Tx(ctx, func(tx *Store) error {
		now := tx.Now()
		q := tx.ctx(ctx).Where("next_attempt_at <= ?", now).Order("next_attempt_at, id").Limit(limit)
		if s.dialect == migrations.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&ds).Error; err != nil {
			return wrap("claim vault deletions", err)
		}
		if len(ds) == 0 {
			return nil
		}
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
		return wrap("claim vault deletions", tx.ctx(ctx).Model(&store.VaultDeletion{}).Where("id IN ?", ids).
			Update("next_attempt_at", now.Add(lease)).Error)
	})
	return ds, err
}

// FinishDeletion forgets a deletion the service confirmed.
func (s *Store) FinishDeletion(ctx context.Context, id string) error {
	return wrap("finish vault deletion", s.ctx(ctx).Where("id = ?", id).Delete(&store.VaultDeletion{}).Error)
}

// RetryDeletion schedules another attempt.
func (s *Store) RetryDeletion(ctx context.Context, id string, attempts int, next time.Time, lastError string) error {
	return wrap("retry vault deletion", s.ctx(ctx).Model(&store.VaultDeletion{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": attempts, "next_attempt_at": next, "last_error": lastError}).Error)
}

// ListDeletions lists pending deletions, oldest first.
func (s *Store) ListDeletions(ctx context.Context, limit int) ([]store.VaultDeletion, error) {
	ds := []store.VaultDeletion{}
	err := s.ctx(ctx).Order("created_at, id").Limit(limit).Find(&ds).Error
	return ds, wrap("list vault deletions", err)
}

// DeletionStats is how many deletions are pending and when the oldest was
// recorded (zero when none).
func (s *Store) DeletionStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	if err := s.ctx(ctx).Model(&store.VaultDeletion{}).Count(&pending).Error; err != nil || pending == 0 {
		return pending, oldest, wrap("count vault deletions", err)
	}
	// The oldest row read as a row, not MIN(): SQLite returns an
	// aggregate over a datetime as text, which does not scan as a time.
	var first store.VaultDeletion
	err = s.ctx(ctx).Select("created_at").Order("created_at").Limit(1).Take(&first).Error
	return pending, first.CreatedAt, wrap("find the oldest vault deletion", err)
}
