package sqlstore

import (
	"context"
	"strings"

	"github.com/credvault/credvault/store"
	"gorm.io/gorm"
)

// CreateFolder inserts f.
func (s *Store) CreateFolder(ctx context.Context, f store.Folder) error {
	return wrap("create folder", s.ctx(ctx).Omit("CredentialCount").Create(&f).Error)
}

func (s *Store) folders(ctx context.Context, orgID string) *gorm.DB {
	return s.ctx(ctx).Table("credential_folders AS f").
		Select(`f.*, (SELECT COUNT(*) FROM credentials c WHERE c.organization_id = f.organization_id
			AND c.folder_id = f.id AND c.deleted_at IS NULL) AS credential_count`).
		Where("f.organization_id = ? AND f.deleted_at IS NULL", orgID)
}

// GetFolder returns a live folder of orgID with its credential count.
func (s *Store) GetFolder(ctx context.Context, orgID, id string) (store.Folder, error) {
	var f store.Folder
	err := s.folders(ctx, orgID).Where("f.id = ?", id).Take(&f).Error
	return f, wrap("get folder", err)
}

// ListFolders returns live folders, most recently modified first; search
// is a literal, case-insensitive substring of the title or description.
func (s *Store) ListFolders(ctx context.Context, orgID, search string, offset, limit int) ([]store.Folder, error) {
	q := s.folders(ctx, orgID)
	if search != "" {
		pat := "%" + escapeLike(strings.ToLower(search)) + "%"
		q = q.Where(`(LOWER(f.title) LIKE ? ESCAPE '\' OR LOWER(COALESCE(f.description, '')) LIKE ? ESCAPE '\')`, pat, pat)
	}
	fs := []store.Folder{}
	err := q.Order("f.modified_at DESC, f.id DESC").Offset(offset).Limit(limit).Find(&fs).Error
	return fs, wrap("list folders", err)
}

// UpdateFolder writes the title and description of a live folder.
func (s *Store) UpdateFolder(ctx context.Context, f store.Folder) (store.Folder, error) {
	res := s.ctx(ctx).Model(&store.Folder{}).Where("id = ? AND organization_id = ? AND deleted_at IS NULL", f.ID, f.OrganizationID).
		Updates(map[string]any{"title": f.Title, "description": f.Description, "modified_at": s.Now()})
	if res.Error != nil {
		return store.Folder{}, wrap("update folder", res.Error)
	}
	if res.RowsAffected == 0 {
		return store.Folder{}, wrap("update folder", gorm.ErrRecordNotFound)
	}
	return s.GetFolder(ctx, f.OrganizationID, f.ID)
}

// SoftDeleteFolder deletes a live folder and unfiles its credentials (they
// are kept), in one transaction.
func (s *Store) SoftDeleteFolder(ctx context.Context, orgID, id string) error {
	return s.Tx(ctx, func(tx *Store) error {
		now := tx.Now()
		res := tx.ctx(ctx).Model(&store.Folder{}).Where("id = ? AND organization_id = ? AND deleted_at IS NULL", id, orgID).
			Updates(map[string]any{"deleted_at": now, "modified_at": now})
		if res.Error != nil {
			return wrap("delete folder", res.Error)
		}
		if res.RowsAffected == 0 {
			return wrap("delete folder", gorm.ErrRecordNotFound)
		}
		err := tx.ctx(ctx).Model(&store.Credential{}).Where("organization_id = ? AND folder_id = ?", orgID, id).
			Updates(map[string]any{"folder_id": nil, "modified_at": now, "version": gorm.Expr("version + 1")}).Error
		if err != nil {
			return wrap("unfile credentials", err)
		}
		return tx.Publish(ctx, TopicCredential, orgID+"/*")
	})
}

// SetCredentialFolder files a live credential in a live folder of the same
// organization (folderID nil: unfile it). A missing credential is
// ErrNotFound; a missing folder is ErrFolderNotFound.
func (s *Store) SetCredentialFolder(ctx context.Context, orgID, credentialID string, folderID *string) (store.Credential, error) {
	var out store.Credential
	err := s.Tx(ctx, func(tx *Store) error {
		c, err := tx.GetCredential(ctx, orgID, credentialID)
		if err != nil {
			return err
		}
		if folderID != nil {
			var n int64
			if err := tx.ctx(ctx).Model(&store.Folder{}).Where("id = ? AND organization_id = ? AND deleted_at IS NULL", *folderID, orgID).
				Count(&n).Error; err != nil {
				return wrap("find folder", err)
			}
			if n == 0 {
				return store.ErrFolderNotFound
			}
		}
		c.FolderID = folderID
		out, err = tx.updateCredential(ctx, c, c.Version)
		if err != nil {
			return err
		}
		return tx.Publish(ctx, TopicCredential, orgID+"/"+credentialID)
	})
	return out, err
}
