package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/credvault/credvault/internal/migrations"
)

// VaultDeletion is a vault item that must be deleted, through the
// configuration that stored it, until the service confirms.
type VaultDeletion struct {
	ID             string
	OrganizationID string
	ItemID         string
	VaultSource    string
	Reason         string
	Attempts       int
	NextAttemptAt  time.Time
	LastError      string
	CreatedAt      time.Time
}

// TableName implements gorm's tabler.
func (VaultDeletion) TableName() string { return "vault_deletions" }

// EnqueueDeletion records d (inside Tx: with the row change it goes with).
func (s *Store) EnqueueDeletion(ctx context.Context, d VaultDeletion) error {
	if d.ID == "" {
		d.ID = NewID("del")
	}
	now := s.Now()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = now
	}
	return wrap("enqueue vault deletion", s.ctx(ctx).Create(&d).Error)
}

// ClaimDeletions takes up to limit due deletions and hides them from other
// workers for lease: on PostgreSQL with FOR UPDATE SKIP LOCKED, so
// replicas never take the same one at once.
func (s *Store) ClaimDeletions(ctx context.Context, limit int, lease time.Duration) ([]VaultDeletion, error) {
	// A cheap look first: most ticks find nothing due, and need no
	// transaction (nor, on SQLite, the write lock).
	var due int64
	if err := s.ctx(ctx).Model(&VaultDeletion{}).Where("next_attempt_at <= ?", s.Now()).Limit(1).Count(&due).Error; err != nil {
		return nil, wrap("look for due vault deletions", err)
	}
	if due == 0 {
		return nil, nil
	}
	var ds []VaultDeletion
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
		return wrap("claim vault deletions", tx.ctx(ctx).Model(&VaultDeletion{}).Where("id IN ?", ids).
			Update("next_attempt_at", now.Add(lease)).Error)
	})
	return ds, err
}

// FinishDeletion forgets a deletion the service confirmed.
func (s *Store) FinishDeletion(ctx context.Context, id string) error {
	return wrap("finish vault deletion", s.ctx(ctx).Where("id = ?", id).Delete(&VaultDeletion{}).Error)
}

// RetryDeletion schedules another attempt.
func (s *Store) RetryDeletion(ctx context.Context, id string, attempts int, next time.Time, lastError string) error {
	return wrap("retry vault deletion", s.ctx(ctx).Model(&VaultDeletion{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": attempts, "next_attempt_at": next, "last_error": lastError}).Error)
}

// ListDeletions lists pending deletions, oldest first.
func (s *Store) ListDeletions(ctx context.Context, limit int) ([]VaultDeletion, error) {
	ds := []VaultDeletion{}
	err := s.ctx(ctx).Order("created_at, id").Limit(limit).Find(&ds).Error
	return ds, wrap("list vault deletions", err)
}

// DeletionStats is how many deletions are pending and when the oldest was
// recorded (zero when none).
func (s *Store) DeletionStats(ctx context.Context) (pending int64, oldest time.Time, err error) {
	var row struct {
		N      int64
		Oldest *time.Time
	}
	err = s.ctx(ctx).Model(&VaultDeletion{}).Select("COUNT(*) AS n, MIN(created_at) AS oldest").Scan(&row).Error
	if row.Oldest != nil {
		oldest = *row.Oldest
	}
	return row.N, oldest, wrap("count vault deletions", err)
}
