package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// KeysetCanary is the one row proving which keyset this database was set
// up with.
type KeysetCanary struct {
	ID         int
	Ciphertext []byte
	CreatedAt  time.Time
}

// TableName implements gorm's tabler.
func (KeysetCanary) TableName() string { return "keyset_canary" }

// KeysetCanary returns the canary, writing ct as the canary first if there
// is none yet (the first process to get here wins).
func (s *Store) KeysetCanary(ctx context.Context, ct []byte) ([]byte, error) {
	err := s.ctx(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&KeysetCanary{ID: 1, Ciphertext: ct, CreatedAt: s.Now()}).Error
	if err != nil {
		return nil, wrap("write keyset canary", err)
	}
	var c KeysetCanary
	err = s.ctx(ctx).Where("id = 1").Take(&c).Error
	return c.Ciphertext, wrap("read keyset canary", err)
}

// ReadKeysetCanary returns the canary without writing (for readiness
// probes); ErrNotFound before the first start wrote it.
func (s *Store) ReadKeysetCanary(ctx context.Context) ([]byte, error) {
	var c KeysetCanary
	err := s.ctx(ctx).Where("id = 1").Take(&c).Error
	return c.Ciphertext, wrap("read keyset canary", err)
}
