package credentials

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// FolderView is a credential folder as the API shows it (Skyvern's
// CredentialFolder).
type FolderView struct {
	FolderID        string    `json:"folder_id"`
	OrganizationID  string    `json:"organization_id"`
	Title           string    `json:"title"`
	Description     *string   `json:"description"`
	CredentialCount int64     `json:"credential_count"`
	CreatedAt       time.Time `json:"created_at"`
	ModifiedAt      time.Time `json:"modified_at"`
}

// Folder page bounds (Skyvern's).
const (
	DefaultFolderPageSize = 100
	MaxFolderPageSize     = 500
)

func folderView(f store.Folder) FolderView {
	return FolderView{FolderID: f.ID, OrganizationID: f.OrganizationID, Title: f.Title, Description: f.Description,
		CredentialCount: f.CredentialCount, CreatedAt: f.CreatedAt.UTC(), ModifiedAt: f.ModifiedAt.UTC()}
}

func checkTitle(title *string) error {
	if title == nil {
		return nil
	}
	if err := vault.CheckText("title", *title); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(*title); n < 1 || n > 255 || strings.TrimSpace(*title) == "" {
		return problem.Invalid("title", "must be 1 to 255 characters")
	}
	return nil
}

func checkDescription(d *string) error {
	if d == nil {
		return nil
	}
	return vault.CheckTextMax("description", *d, 4096)
}

func checkFolderID(id string) error {
	if err := vault.CheckText("folder_id", id); err != nil {
		return err
	}
	if id == "" || len(id) > 128 {
		return problem.Invalid("folder_id", "is not a valid folder id")
	}
	return nil
}

// Folders manages an organization's credential folders (Skyvern's
// credential_folders). It shares its Service's storage.
type Folders struct {
	store Storage
	// rows is the Service's row cache: a folder change drops the rows it
	// changes.
	rows *rowCache
}

// Folders returns the Service's folders.
func (s *Service) Folders() *Folders { return &Folders{store: s.store, rows: s.rows} }

// Create creates a folder.
func (fo *Folders) Create(ctx context.Context, orgID, title string, description *string) (FolderView, error) {
	if err := checkTitle(&title); err != nil {
		return FolderView{}, err
	}
	if err := checkDescription(description); err != nil {
		return FolderView{}, err
	}
	now := fo.store.Now()
	f := store.Folder{ID: store.NewID("cfld"), OrganizationID: orgID, Title: title, Description: description, CreatedAt: now, ModifiedAt: now}
	if err := fo.store.CreateFolder(ctx, f); err != nil {
		return FolderView{}, err
	}
	return folderView(f), nil
}

// Get returns a folder with its credential count.
func (fo *Folders) Get(ctx context.Context, orgID, id string) (FolderView, error) {
	if err := checkFolderID(id); err != nil {
		return FolderView{}, err
	}
	f, err := fo.store.GetFolder(ctx, orgID, id)
	if err != nil {
		return FolderView{}, err
	}
	return folderView(f), nil
}

// List returns a page of folders, most recently modified first.
func (fo *Folders) List(ctx context.Context, orgID string, page, pageSize int, search string) ([]FolderView, error) {
	if page == 0 {
		page = 1
	}
	if pageSize == 0 {
		pageSize = DefaultFolderPageSize
	}
	switch {
	case page < 1 || page > 1_000_000:
		return nil, problem.Invalid("page", "must be between 1 and 1000000")
	case pageSize < 1 || pageSize > MaxFolderPageSize:
		return nil, problem.Invalid("page_size", "must be between 1 and %d", MaxFolderPageSize)
	case len(search) > 256:
		return nil, problem.Invalid("search", "must be at most 256 characters")
	}
	if err := vault.CheckText("search", search); err != nil {
		return nil, err
	}
	fs, err := fo.store.ListFolders(ctx, orgID, search, (page-1)*pageSize, pageSize)
	if err != nil {
		return nil, err
	}
	out := make([]FolderView, len(fs))
	for i, f := range fs {
		out[i] = folderView(f)
	}
	return out, nil
}

// Update changes a folder's title and/or description (nil: keep);
// at least one must be given.
func (fo *Folders) Update(ctx context.Context, orgID, id string, title, description *string) (FolderView, error) {
	if err := checkFolderID(id); err != nil {
		return FolderView{}, err
	}
	if title == nil && description == nil {
		return FolderView{}, problem.Invalid("", "at least one of 'title' or 'description' must be provided")
	}
	if err := checkTitle(title); err != nil {
		return FolderView{}, err
	}
	if err := checkDescription(description); err != nil {
		return FolderView{}, err
	}
	f, err := fo.store.GetFolder(ctx, orgID, id)
	if err != nil {
		return FolderView{}, err
	}
	if title != nil {
		f.Title = *title
	}
	if description != nil {
		f.Description = description
	}
	f, err = fo.store.UpdateFolder(ctx, f)
	if err != nil {
		return FolderView{}, err
	}
	return folderView(f), nil
}

// Delete deletes a folder; its credentials are unfiled, not deleted.
func (fo *Folders) Delete(ctx context.Context, orgID, id string) error {
	if err := checkFolderID(id); err != nil {
		return err
	}
	err := fo.store.SoftDeleteFolder(ctx, orgID, id)
	fo.rows.drop(orgID, "*")
	return err
}

// Assign files a credential in a folder of its organization, or unfiles
// it (folderID nil). A folder that does not exist is an error naming
// folder_id.
func (fo *Folders) Assign(ctx context.Context, orgID, credentialID string, folderID *string) (View, error) {
	if err := checkID(credentialID); err != nil {
		return View{}, err
	}
	if folderID != nil {
		if err := checkFolderID(*folderID); err != nil {
			return View{}, err
		}
	}
	var r store.Credential
	err := audited(ctx, fo.store, orgID, ActionMove, credentialID, func(tx Storage) error {
		var err error
		r, err = tx.SetCredentialFolder(ctx, orgID, credentialID, folderID)
		return err
	})
	fo.rows.drop(orgID, credentialID)
	if errors.Is(err, store.ErrFolderNotFound) {
		return View{}, problem.Invalid("folder_id", "no credential folder with this id in this organization")
	}
	if err != nil {
		return View{}, err
	}
	return viewOf(r), nil
}
