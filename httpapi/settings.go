package httpapi

import "github.com/labstack/echo/v4"

func (s *server) settingsRoutes(e *echo.Echo) {}
