package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/credentials"
)

// FolderService is what the folder routes need (credentials.Service).
type FolderService interface {
	Create(ctx context.Context, orgID, title string, description *string) (credentials.FolderView, error)
	Get(ctx context.Context, orgID, id string) (credentials.FolderView, error)
	List(ctx context.Context, orgID string, page, pageSize int, search string) ([]credentials.FolderView, error)
	Update(ctx context.Context, orgID, id string, title, description *string) (credentials.FolderView, error)
	Delete(ctx context.Context, orgID, id string) error
	Assign(ctx context.Context, orgID, credentialID string, folderID *string) (credentials.View, error)
}

const folderNotFound = "credential folder not found"

func (s *server) folderRoutes(g *echo.Group) {
	if s.Folders == nil {
		return
	}
	limited := s.limited
	g.POST("/credential_folders", s.createFolder, limited)
	g.GET("/credential_folders", s.listFolders)
	g.GET("/credential_folders/:folder_id", s.getFolder)
	g.PUT("/credential_folders/:folder_id", s.updateFolder, limited)
	g.DELETE("/credential_folders/:folder_id", s.deleteFolder, limited)
	g.PUT("/credentials/:credential_id/folder", s.setCredentialFolder, limited)
}

type folderRequest struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

func (s *server) createFolder(c echo.Context) error {
	var req folderRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if req.Title == nil {
		return echo.NewHTTPError(http.StatusBadRequest, "title: is required")
	}
	v, err := s.Folders.Create(c.Request().Context(), principal(c).OrganizationID, *req.Title, req.Description)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) listFolders(c echo.Context) error {
	page, size, err := pageParams(c)
	if err != nil {
		return err
	}
	vs, err := s.Folders.List(c.Request().Context(), principal(c).OrganizationID, page, size, c.QueryParam("search"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, vs)
}

func (s *server) getFolder(c echo.Context) error {
	v, err := s.Folders.Get(c.Request().Context(), principal(c).OrganizationID, c.Param("folder_id"))
	if err != nil {
		return notFoundAs(err, folderNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) updateFolder(c echo.Context) error {
	var req folderRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	v, err := s.Folders.Update(c.Request().Context(), principal(c).OrganizationID, c.Param("folder_id"), req.Title, req.Description)
	if err != nil {
		return notFoundAs(err, folderNotFound)
	}
	return c.JSON(http.StatusOK, v)
}

func (s *server) deleteFolder(c echo.Context) error {
	id := c.Param("folder_id")
	if err := s.Folders.Delete(c.Request().Context(), principal(c).OrganizationID, id); err != nil {
		return notFoundAs(err, folderNotFound)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "deleted", "folder_id": id})
}

func (s *server) setCredentialFolder(c echo.Context) error {
	var req struct {
		FolderID *string `json:"folder_id"`
	}
	body, err := decodeJSONBody(c, &req, false)
	if err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(body, &keys)
	if _, ok := keys["folder_id"]; !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "folder_id: is required (null removes the credential from its folder)")
	}
	v, err := s.Folders.Assign(c.Request().Context(), principal(c).OrganizationID, c.Param("credential_id"), req.FolderID)
	if err != nil {
		return notFoundAs(err, credentialNotFound)
	}
	return c.JSON(http.StatusOK, v)
}
