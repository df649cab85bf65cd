package sqlstore

import (
	"context"
	"time"

	"github.com/credvault/credvault/store"
)

// InsertOTPCode stores c and removes codes that expired more than a day
// ago (expired codes are never listed; the day keeps them for forensics).
func (s *Store) InsertOTPCode(ctx context.Context, c store.OTPCode) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.ctx(ctx).Where("expires_at < ?", tx.Now().Add(-24*time.Hour)).Delete(&store.OTPCode{}).Error; err != nil {
			return wrap("purge expired codes", err)
		}
		return wrap("insert code", tx.ctx(ctx).Create(&c).Error)
	})
}

// ListOTPCodes returns the organization's unexpired codes, newest first.
func (s *Store) ListOTPCodes(ctx context.Context, orgID string, f store.OTPFilter) ([]store.OTPCode, error) {
	q := s.ctx(ctx).Where("organization_id = ? AND expires_at > ?", orgID, s.Now())
	if f.TOTPIdentifier != "" {
		q = q.Where("totp_identifier = ?", f.TOTPIdentifier)
	}
	if f.WorkflowRunID != "" {
		q = q.Where("workflow_run_id = ?", f.WorkflowRunID)
	}
	if f.OTPType != "" {
		q = q.Where("otp_type = ?", f.OTPType)
	}
	cs := []store.OTPCode{}
	err := q.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&cs).Error
	return cs, wrap("list codes", err)
}
