// Package credservice is a production-grade reference implementation of
// the custom credential service contract — the service a customer runs
// and points credvault at. Items are stored in PostgreSQL or embedded
// SQLite, each encrypted with the keyring and bound to its item id;
// several Bearer tokens are accepted at once so a token can be rotated
// without downtime.
//
// Routes: GET {prefix} (a status answer for a valid token), POST {prefix},
// GET {prefix}/{id}, DELETE {prefix}/{id} with prefix /api/v1/credentials,
// and GET /healthz.
package credservice

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/credvault/credvault/sealed"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/credvault/credvault/internal/httpx"
	"github.com/credvault/credvault/internal/ids"
	"github.com/credvault/credvault/vault/wire"
)

// Prefix is where the contract is served.
const Prefix = "/api/v1/credentials"

// Server serves the contract. It is safe for concurrent use; SetTokens may
// be called at any time (on SIGHUP, say).
type Server struct {
	store   *Storage
	keyring sealed.Sealer
	log     *slog.Logger
	tokens  atomic.Pointer[[][32]byte]
}

// New returns a Server accepting tokens.
func New(s *Storage, k sealed.Sealer, tokens []string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &Server{store: s, keyring: k, log: log}
	if err := srv.SetTokens(tokens); err != nil {
		return nil, err
	}
	return srv, nil
}

// SetTokens replaces the accepted tokens after checking them
// (CheckTokens); on error the previous tokens stay. Only their SHA-256
// hashes are kept in memory.
func (s *Server) SetTokens(tokens []string) error {
	if err := CheckTokens(tokens); err != nil {
		return err
	}
	var hs [][32]byte
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			hs = append(hs, sha256.Sum256([]byte(t)))
		}
	}
	s.tokens.Store(&hs)
	return nil
}

// ReloadTokensFile re-reads path and replaces the accepted tokens; an
// unreadable file or one breaking the token rules keeps the previous
// tokens and says why. It returns how many tokens are now accepted.
func (s *Server) ReloadTokensFile(path string) (int, error) {
	toks, err := ReadTokensFile(path)
	if err != nil {
		return 0, err
	}
	if err := s.SetTokens(toks); err != nil {
		return 0, err
	}
	return len(toks), nil
}

// ParseTokens splits a comma- or newline-separated token list.
func ParseTokens(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}

// authorized compares the presented token with every accepted one in
// constant time (no early exit).
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[7:])))
	ok := 0
	for _, want := range *s.tokens.Load() {
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return ok == 1
}

type errorBody struct {
	Detail string `json:"detail"`
}

func fail(code int, msg string) error { return echo.NewHTTPError(code, msg) }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := http.StatusInternalServerError, "internal server error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
			if m, ok := he.Message.(string); ok && code < 500 {
				msg = m
			} else {
				msg = http.StatusText(code)
			}
		} else {
			s.log.ErrorContext(c.Request().Context(), "request failed", slog.String("error", err.Error()))
		}
		_ = c.JSON(code, errorBody{Detail: msg})
	}
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(httpx.RequestID)
	e.Use(httpx.AccessLog(s.log))
	e.Use(httpx.Recover)
	e.Use(middleware.BodyLimit("1M"))
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(200, map[string]string{"status": "ok"}) })

	g := e.Group(Prefix, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !s.authorized(c.Request()) {
				return fail(http.StatusUnauthorized, "Invalid or missing API token")
			}
			c.Response().Header().Set("Cache-Control", "no-store")
			return next(c)
		}
	})
	g.GET("", s.status)
	g.POST("", s.create)
	g.GET("/:id", s.get)
	g.DELETE("/:id", s.delete)
	return e
}

// status answers GET {base} for a valid token: the connection test of
// credvault and of Skyvern accepts any 2xx.
func (s *Server) status(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "service": "credvault reference credential-service"})
}

// idempotencyWindow is how long an Idempotency-Key is remembered.
const idempotencyWindow = 24 * time.Hour

func itemAD(id string) []byte { return sealed.AssociatedData("credential-service", "item", id) }

func (s *Server) create(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return fail(http.StatusBadRequest, "could not read the request body")
	}
	cred, err := wire.DecodeCreate(body)
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	// Validate a second decoding: Validate normalises (a TOTP seed's case
	// and spaces), and the item is stored exactly as it was sent.
	check, _ := wire.DecodeCreate(body)
	if err := check.Validate(); err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	if _, err := wire.Encode(cred); err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	// Stored as sent (compacted): every field the contract names and
	// nothing else (DecodeCreate refused the rest), with the values the
	// client chose, an empty secret_label "" included (Skyvern's client
	// sends one, and reads it back as "", not null).
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return fail(http.StatusBadRequest, "the body is not a valid JSON object")
	}
	plain := compact.Bytes()
	ctx := c.Request().Context()
	key := c.Request().Header.Get(wire.IdempotencyKeyHeader)
	if len(key) > 255 {
		return fail(http.StatusBadRequest, "Idempotency-Key must be at most 255 characters")
	}
	var keyHash []byte
	bodyHash := sha256.Sum256(plain)
	recovering := c.Request().Header.Get(wire.IdempotencyRecoverHeader) == "true"
	now := s.store.now()
	if key != "" {
		// The same key from the same token within 24 h, with the same
		// body, returns the same item and stores nothing new; with another
		// body it is refused. A key whose item was deleted is forgotten
		// with it.
		h := sha256.Sum256([]byte(strings.TrimSpace(c.Request().Header.Get("Authorization")) + "\x00" + key))
		keyHash = h[:]
		if k, err := s.store.idempotentItem(ctx, keyHash, now.Add(-idempotencyWindow)); err == nil {
			return s.replay(c, k, bodyHash[:], recovering)
		} else if !errors.Is(err, errNotFound) {
			return err
		}
	}
	id := ids.New("cred")
	ct, err := s.keyring.Encrypt(plain, itemAD(id))
	if err != nil {
		return err
	}
	it := item{ID: id, ItemType: string(cred.Type), Ciphertext: ct, CreatedAt: now}
	if keyHash == nil {
		if err := s.store.createItem(ctx, it); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"id": id})
	}
	err = s.store.createItemOnce(ctx, it, keyHash, bodyHash[:], now.Add(-idempotencyWindow))
	if errors.Is(err, errConflict) {
		// A concurrent create with the same key won: answer with its item.
		if k, err := s.store.idempotentItem(ctx, keyHash, now.Add(-idempotencyWindow)); err == nil {
			return s.replay(c, k, bodyHash[:], recovering)
		}
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(wire.IdempotentReplayedHeader, "false")
	return c.JSON(http.StatusOK, map[string]string{"id": id})
}

// replay answers a create whose key was recorded: its item, if the body
// is the one the key came with (or the caller is recovering a lost create
// and asks for the item whatever the body); else 422.
func (s *Server) replay(c echo.Context, k idempotencyKey, bodyHash []byte, recovering bool) error {
	if len(k.BodyHash) > 0 && subtle.ConstantTimeCompare(k.BodyHash, bodyHash) != 1 && !recovering {
		return fail(http.StatusUnprocessableEntity, "Idempotency-Key was already used with a different request body; use a new key")
	}
	c.Response().Header().Set(wire.IdempotentReplayedHeader, "true")
	return c.JSON(http.StatusOK, map[string]string{"id": k.ItemID})
}

func (s *Server) get(c echo.Context) error {
	it, err := s.store.getItem(c.Request().Context(), c.Param("id"))
	if errors.Is(err, errNotFound) {
		return fail(http.StatusNotFound, "Credential not found")
	}
	if err != nil {
		return err
	}
	plain, err := s.keyring.Decrypt(it.Ciphertext, itemAD(it.ID))
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, bytes.TrimSpace(plain))
}

func (s *Server) delete(c echo.Context) error {
	err := s.store.deleteItem(c.Request().Context(), c.Param("id"))
	if errors.Is(err, errNotFound) {
		return fail(http.StatusNotFound, "Credential not found")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "deleted"})
}
