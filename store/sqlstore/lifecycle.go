package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

// RecordCreate records a create about to be sent, owned by a.Owner until
// a.LeaseUntil. A key recorded before (a retry of the same create) is
// taken over: the retry owns its outcome.
func (s *Store) RecordCreate(ctx context.Context, a store.CreateAttempt) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.Now()
	}
	if a.State == "" {
		a.State = store.CreateInFlight
	}
	return wrap("record vault create", s.ctx(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"owner", "lease_until", "state"})}).Create(&a).Error)
}

// ReserveCreate records a create about to be sent for an existing
// credential (an update or a migration) whose row is at rowVersion. Unlike
// RecordCreate it never takes over a create in flight whose lease runs,
// whoever owns it, and it is refused when the row is no longer at
// rowVersion: ErrCreateBusy either way, and nothing is recorded. So two
// changes of one credential never send one Idempotency-Key with two
// bodies. The record is written before the version is checked, in one
// transaction: a change committing meanwhile is either seen by the check
// or still holds its own record, which the write conflicts with.
func (s *Store) ReserveCreate(ctx context.Context, a store.CreateAttempt, rowVersion int64) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.Now()
	}
	a.State = store.CreateInFlight
	return s.Tx(ctx, func(tx *Store) error {
		res := tx.ctx(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"owner", "lease_until", "state"}),
			Where: clause.Where{Exprs: []clause.Expression{clause.Expr{
				SQL:  "vault_creates.state <> ? OR vault_creates.lease_until IS NULL OR vault_creates.lease_until < ?",
				Vars: []any{store.CreateInFlight, tx.Now()}}}},
		}).Create(&a)
		if res.Error != nil {
			return wrap("record vault create", res.Error)
		}
		if res.RowsAffected == 0 {
			return store.ErrCreateBusy
		}
		var version int64
		err := tx.ctx(ctx).Model(&store.Credential{}).Where("id = ? AND organization_id = ? AND deleted_at IS NULL", a.CredentialID, a.OrganizationID).
			Pluck("version", &version).Error
		switch {
		case err != nil:
			return wrap("check credential version", err)
		case version == 0:
			return wrap("check credential version", store.ErrNotFound)
		case version != rowVersion:
			return store.ErrCreateBusy
		}
		return nil
	})
}

// SettleCreate forgets a create whose outcome is known, if owner still
// owns it (inside Tx: with the row write that records its item); else
// ErrCreateTakenOver.
func (s *Store) SettleCreate(ctx context.Context, id, owner string) error {
	res := s.ctx(ctx).Where("id = ? AND owner = ?", id, owner).Delete(&store.CreateAttempt{})
	if res.Error != nil {
		return wrap("settle vault create", res.Error)
	}
	if res.RowsAffected == 0 {
		return store.ErrCreateTakenOver
	}
	return nil
}

// ClaimCreates takes up to limit creates whose lease ran out (and that can
// still be recovered) for owner until now+lease: on PostgreSQL with FOR
// UPDATE SKIP LOCKED, so live processes never take the same one at once.
func (s *Store) ClaimCreates(ctx context.Context, owner string, limit int, lease time.Duration) ([]store.CreateAttempt, error) {
	expired := func(q *gorm.DB, now time.Time) *gorm.DB {
		return q.Where("(lease_until IS NULL OR lease_until < ?) AND state <> ?", now, store.CreateUnrecoverable)
	}
	var due int64
	if err := expired(s.ctx(ctx).Model(&store.CreateAttempt{}), s.Now()).Limit(1).Count(&due).Error; err != nil {
		return nil, wrap("look for expired vault creates", err)
	}
	if due == 0 {
		return nil, nil
	}
	var as []store.CreateAttempt
	err := s.Tx(ctx, func(tx *Store) error {
		now := tx.Now()
		q := expired(tx.ctx(ctx), now).Order("created_at, id").Limit(limit)
		if s.dialect == migrations.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Find(&as).Error; err != nil {
			return wrap("claim vault creates", err)
		}
		if len(as) == 0 {
			return nil
		}
		ids := make([]string, len(as))
		until := now.Add(lease)
		for i := range as {
			ids[i] = as[i].ID
			as[i].Owner, as[i].LeaseUntil = owner, &until
		}
		return wrap("claim vault creates", tx.ctx(ctx).Model(&store.CreateAttempt{}).Where("id IN ?", ids).
			Updates(map[string]any{"owner": owner, "lease_until": until}).Error)
	})
	return as, err
}

// MarkCreateUnrecoverable records that a create's item cannot be found
// (the service does not honour Idempotency-Key): no worker takes it again;
// reconcile lists it.
func (s *Store) MarkCreateUnrecoverable(ctx context.Context, id, note string) error {
	return wrap("mark vault create unrecoverable", s.ctx(ctx).Model(&store.CreateAttempt{}).Where("id = ?", id).
		Updates(map[string]any{"state": store.CreateUnrecoverable, "last_error": note}).Error)
}

// MarkCreateLost records that a create's answer never came: the service
// may hold an item that no row points to.
func (s *Store) MarkCreateLost(ctx context.Context, id, lastError string) error {
	return wrap("mark vault create lost", s.ctx(ctx).Model(&store.CreateAttempt{}).Where("id = ?", id).
		Updates(map[string]any{"state": store.CreateLost, "last_error": lastError}).Error)
}

// ListCreates lists unsettled creates recorded before before, oldest
// first; orgID "" lists every organization's.
func (s *Store) ListCreates(ctx context.Context, orgID string, before time.Time, limit int) ([]store.CreateAttempt, error) {
	q := s.ctx(ctx).Where("created_at < ?", before)
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	as := []store.CreateAttempt{}
	err := q.Order("created_at, id").Limit(limit).Find(&as).Error
	return as, wrap("list vault creates", err)
}

// ScanCredentials returns up to limit live credentials with an id after
// after, in id order: a walk over every row (orgID "" for every
// organization) that stays cheap however deep it goes.
func (s *Store) ScanCredentials(ctx context.Context, orgID, after string, limit int) ([]store.Credential, error) {
	q := s.ctx(ctx).Where("deleted_at IS NULL AND id > ?", after)
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	cs := []store.Credential{}
	err := q.Order("id").Limit(limit).Find(&cs).Error
	return cs, wrap("scan credentials", err)
}

// SetItemMissing records (at non-nil) or clears (nil) that a credential's
// item is gone from its service, if the row still points to itemID: a row
// re-pointed meanwhile is left alone. It reports whether the row changed.
func (s *Store) SetItemMissing(ctx context.Context, orgID, id, itemID string, at *time.Time) (bool, error) {
	res := s.ctx(ctx).Model(&store.Credential{}).
		Where("id = ? AND organization_id = ? AND item_id = ? AND deleted_at IS NULL", id, orgID, itemID).
		Update("item_missing_at", at)
	if res.Error != nil {
		return false, wrap("mark credential item", res.Error)
	}
	if res.RowsAffected > 0 {
		return true, wrap("mark credential item", s.Publish(ctx, TopicCredential, orgID+"/"+id))
	}
	return false, nil
}

// CountCredentials counts live credentials (orgID "" for every
// organization).
func (s *Store) CountCredentials(ctx context.Context, orgID string) (int64, error) {
	q := s.ctx(ctx).Model(&store.Credential{}).Where("deleted_at IS NULL")
	if orgID != "" {
		q = q.Where("organization_id = ?", orgID)
	}
	var n int64
	return n, wrap("count credentials", q.Count(&n).Error)
}

// ItemReferenced reports whether a live row points to the item itemID
// stored through source.
func (s *Store) ItemReferenced(ctx context.Context, orgID, source, itemID string) (bool, error) {
	var n int64
	err := s.ctx(ctx).Model(&store.Credential{}).Where("organization_id = ? AND vault_source = ? AND item_id = ? AND deleted_at IS NULL",
		orgID, source, itemID).Limit(1).Count(&n).Error
	return n > 0, wrap("find item reference", err)
}
