package store

import (
	"context"
	"time"
)

// OTPCode is a one-time code pushed for an email or SMS login. Its code
// and content are secrets: they live only inside Ciphertext.
type OTPCode struct {
	ID             string
	OrganizationID string
	TOTPIdentifier string `gorm:"column:totp_identifier"`
	TaskID         *string
	WorkflowID     *string
	WorkflowRunID  *string
	Source         *string
	OTPType        *string `gorm:"column:otp_type"`
	Ciphertext     []byte
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// TableName implements gorm's tabler.
func (OTPCode) TableName() string { return "totp_codes" }

// InsertOTPCode stores c and removes codes that expired more than a day
// ago (expired codes are never listed; the day keeps them for forensics).
func (s *Store) InsertOTPCode(ctx context.Context, c OTPCode) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.ctx(ctx).Where("expires_at < ?", tx.Now().Add(-24*time.Hour)).Delete(&OTPCode{}).Error; err != nil {
			return wrap("purge expired codes", err)
		}
		return wrap("insert code", tx.ctx(ctx).Create(&c).Error)
	})
}

// OTPFilter narrows ListOTPCodes.
type OTPFilter struct {
	TOTPIdentifier string
	WorkflowRunID  string
	OTPType        string
	Limit          int
}

// ListOTPCodes returns the organization's unexpired codes, newest first.
func (s *Store) ListOTPCodes(ctx context.Context, orgID string, f OTPFilter) ([]OTPCode, error) {
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
	cs := []OTPCode{}
	err := q.Order("created_at DESC, id DESC").Limit(f.Limit).Find(&cs).Error
	return cs, wrap("list codes", err)
}
