package httpapi

import "github.com/labstack/echo/v4"

// ConfigService is filled in with the configuration routes.
type ConfigService interface{}

// CredentialService is filled in with the credential routes.
type CredentialService interface{}

func (s *server) configRoutes(g *echo.Group)     {}
func (s *server) credentialRoutes(g *echo.Group) {}
func (s *server) settingsRoutes(e *echo.Echo)    {}
