package httpapi

import "github.com/labstack/echo/v4"

// CredentialService is what the credential routes need.
type CredentialService interface{}

func (s *server) credentialRoutes(g *echo.Group) {}
