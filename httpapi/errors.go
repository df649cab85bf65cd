package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/internal/httpx"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// errorBody is every error answer: {"detail": "..."}.
type errorBody struct {
	Detail string `json:"detail"`
}

// statusOf maps an error to its HTTP status and the text a client may see.
// The status is its kind's (problem.KindOf: the outermost error with a
// kind decides, not the order of any switch); the text is what the error
// says for clients (problem.DetailOf), or its kind's own. A 5xx caused by
// something internal never shows the internal text.
func statusOf(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return echoStatus(he)
	}
	kind := problem.KindOf(err)
	if kind == nil {
		if errors.Is(err, context.Canceled) {
			return 499, "client closed request"
		}
		return http.StatusInternalServerError, "internal server error"
	}
	a := answers[kind]
	if d := problem.DetailOf(err); d != "" && a.status < 500 {
		return a.status, d
	}
	return a.status, a.text(err)
}

// answer is how a kind of failure is answered.
type answer struct {
	status int
	// text is the client's text when the error has no Detail of its own.
	text func(err error) string
}

// fixed answers with the same text whatever the error.
func fixed(text string) func(error) string { return func(error) string { return text } }

// answers holds an answer for every kind of problem.Kinds (a test checks).
var answers = map[error]answer{
	problem.ErrInvalid:      {http.StatusBadRequest, fixed("invalid request")},
	problem.ErrUnauthorized: {http.StatusUnauthorized, fixed(org.ErrUnauthorized.Error())},
	problem.ErrForbidden:    {http.StatusForbidden, fixed("forbidden")},
	problem.ErrNotFound:     {http.StatusNotFound, fixed("not found")},
	problem.ErrConflict:     {http.StatusConflict, fixed("the resource was changed concurrently; retry")},
	// The customer's service failed: credvault's own description of what
	// it answered (never its text, which may echo a secret).
	problem.ErrBadGateway: {http.StatusBadGateway, error.Error},
	// Not an answer of the service: nothing it said, and worth a retry
	// (the handler adds Retry-After).
	problem.ErrUnreachable: {http.StatusServiceUnavailable, func(err error) string {
		return "The custom credential service is unreachable (" + err.Error() + "); retry in a few seconds"
	}},
	problem.ErrUnavailable: {http.StatusServiceUnavailable, fixed("the database is unreachable; retry in a few seconds")},
}

func echoStatus(he *echo.HTTPError) (int, string) {
	if he.Code == http.StatusRequestEntityTooLarge {
		return he.Code, "the request body is larger than 1 MiB"
	}
	msg, ok := he.Message.(string)
	if !ok || msg == "" {
		msg = http.StatusText(he.Code)
	}
	if he.Code >= 500 && he.Code != http.StatusNotImplemented {
		msg = http.StatusText(he.Code)
	}
	return he.Code, msg
}

// Context keys the access log reads.
const (
	logErrorKey  = "credvault.log.error"
	logReasonKey = "credvault.log.reason"
	logLevelKey  = "credvault.log.level"
	// logUpstreamKey holds the *vault.ServiceAnswer of a failed exchange
	// with a customer's service.
	logUpstreamKey = "credvault.log.upstream"
	logPanicKey    = httpx.PanicStackKey
)

// rejectedToken reports a customer service refusing its token: a problem
// of that organization's configuration, not of credvault.
func rejectedToken(err error) bool {
	var ue *vault.UpstreamError
	return errors.As(err, &ue) && (ue.StatusCode == http.StatusUnauthorized || ue.StatusCode == http.StatusForbidden)
}

// reasonOf names the rule that refused a request, for the access log:
// fixed words and field names of credvault's own schema, never a value.
func reasonOf(err error, code int) string {
	var inv *problem.InvalidError
	switch {
	case errors.As(err, &inv) && inv.Field != "":
		return "invalid field " + inv.Field
	case errors.As(err, &inv):
		return "invalid request"
	case errors.Is(err, problem.ErrForbidden):
		return "source not proven"
	case errors.Is(err, org.ErrUnauthorized):
		return "missing, unknown or revoked API key"
	case errors.Is(err, vault.ErrNotConfigured):
		return "no credential vault configured"
	case errors.Is(err, vault.ErrSourceUnavailable):
		return "storing configuration unusable"
	}
	switch code {
	case http.StatusNotFound:
		return "not found"
	case http.StatusMethodNotAllowed:
		return "method not allowed"
	case http.StatusRequestEntityTooLarge:
		return "body over 1 MiB"
	case http.StatusTooManyRequests:
		return "rate limit"
	case http.StatusConflict:
		return "concurrent change"
	case http.StatusBadRequest:
		return "malformed request body or parameter"
	}
	return http.StatusText(code)
}

// allowedMethods lists the methods routed for the request's path (the
// group catch-alls, which exist only to run authentication, excluded).
func (s *server) allowedMethods(r *http.Request) []string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		ctx := s.echo.NewContext(nil, nil)
		s.echo.Router().Find(m, path, ctx)
		if p := ctx.Path(); p != "" && !strings.HasSuffix(p, "/*") {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return out
}

// notFoundAs replaces a problem.ErrNotFound with a 404 saying what was not
// found; other errors pass through.
func notFoundAs(err error, detail string) error {
	if errors.Is(err, problem.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, detail)
	}
	return err
}

func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := statusOf(err)
	if errors.Is(err, echo.ErrNotFound) && s.echo != nil {
		code, msg = s.notRouted(c, code, msg)
	}
	h := c.Response().Header()
	if code == http.StatusMethodNotAllowed {
		// HEAD is served wherever GET is.
		if allow := h.Get("Allow"); strings.Contains(allow, http.MethodGet) && !strings.Contains(allow, http.MethodHead) {
			h.Set("Allow", allow+", "+http.MethodHead)
		}
	}
	logOutcome(c, err, code)
	if h.Get("Retry-After") == "" {
		switch code {
		case http.StatusTooManyRequests:
			h.Set("Retry-After", "1")
		case http.StatusServiceUnavailable:
			h.Set("Retry-After", "5") // ours and temporary
		}
	}
	if head, _ := c.Get(headKey).(bool); head || c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	var inv *problem.InvalidError
	if errors.As(err, &inv) && inv.Code != "" {
		// Skyvern's structured detail, which its web app renders as a
		// field error.
		_ = c.JSON(code, map[string]codedDetail{"detail": {ErrorCode: inv.Code, Message: codedMessage(inv)}})
		return
	}
	_ = c.JSON(code, errorBody{Detail: msg})
}

// notRouted answers the router's "no route": a path served for other
// methods is a 405 naming them, not a 404.
func (s *server) notRouted(c echo.Context, code int, msg string) (int, string) {
	allow := s.allowedMethods(c.Request())
	if len(allow) == 0 {
		return code, msg
	}
	c.Response().Header().Set("Allow", strings.Join(allow, ", "))
	return http.StatusMethodNotAllowed, "method " + httpx.MethodLabel(c.Request().Method) + " is not allowed here; allowed: " + strings.Join(allow, ", ")
}

// logOutcome tells the access log, which writes the one line of this
// request, what to say of the error: for a 5xx the internal details
// (errors never carry secrets), for a 4xx the rule that refused it (never
// the value).
func logOutcome(c echo.Context, err error, code int) {
	switch {
	case code >= 500:
		c.Set(logErrorKey, err.Error())
		var ue *vault.UpstreamError
		if errors.As(err, &ue) && ue.Answer != nil {
			c.Set(logUpstreamKey, ue.Answer)
		}
		if rejectedToken(err) {
			c.Set(logLevelKey, slog.LevelWarn)
			c.Set(logReasonKey, "the organization's custom credential service rejected its API token: check its configuration")
		}
	case code >= 400:
		c.Set(logReasonKey, reasonOf(err, code))
	}
}

// codedDetail is Skyvern's structured error detail.
type codedDetail struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// codedMessage is the message of a coded error: Skyvern's words for the
// authenticator rules (its web app shows them as they are), then what
// exactly was wrong.
func codedMessage(inv *problem.InvalidError) string {
	switch inv.Code {
	case problem.CodeAuthenticatorKeyRequired:
		return "Authenticator key is required. Paste the raw setup key or full otpauth:// URI from the website's 2FA setup screen."
	case problem.CodeInvalidAuthenticatorKey:
		return "Invalid authenticator key. Paste the raw Base32 setup key or full otpauth:// URI from the website's 2FA setup screen. (" +
			inv.Error() + ")"
	}
	return inv.Error()
}
