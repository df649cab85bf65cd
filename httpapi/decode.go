package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// decodeJSON strictly decodes the request body into v: malformed JSON,
// unknown fields, wrong types and trailing data are 400s naming the
// problem; a body over the limit is 413. Values are never echoed.
func decodeJSON(c echo.Context, v any, allowEmpty bool) error {
	_, err := decodeJSONBody(c, v, allowEmpty)
	return err
}

// decodeJSONBody is decodeJSON that also returns the body, for callers
// that must know which keys were present (absent and null differ).
func decodeJSONBody(c echo.Context, v any, allowEmpty bool) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, echo.ErrStatusRequestEntityTooLarge
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil, nil
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "request body is required (JSON object)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, jsonProblem(err))
	}
	if dec.More() {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "request body must be a single JSON object")
	}
	return body, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON in request body"
	case errors.As(err, &te):
		if te.Field == "" {
			return "request body must be a JSON object"
		}
		return te.Field + ": must be a JSON " + jsonKind(te.Type.Kind().String())
	case isUnknownField(err):
		name, _ := problem.UnknownField(err)
		return "unknown field " + name
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON in request body"
	}
	return "invalid JSON in request body"
}

func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return k
}

func secret(s string) vault.Secret { return vault.NewSecret(s) }

func isUnknownField(err error) bool {
	_, ok := problem.UnknownField(err)
	return ok
}
