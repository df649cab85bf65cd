package store

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/credvault/credvault/internal/migrations"
	"github.com/credvault/credvault/internal/sqldb"
)

// Change topics published on every change that processes may have cached.
// Payloads are ids only, never a secret.
const (
	TopicConfig     = "config"     // payload: organization id
	TopicAPIKey     = "key"        // payload: API key id
	TopicCredential = "credential" // payload: organization id + "/" + credential id
)

// Publish announces a change to every process sharing the database, with
// PostgreSQL NOTIFY: inside a transaction (Tx) it is delivered only if and
// when the transaction commits. On SQLite (one process) it does nothing.
func (s *Store) Publish(ctx context.Context, topic, payload string) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	// The publishing process has already dropped what it changed; it
	// skips its own notifications (the origin field).
	return wrap("publish change", s.ctx(ctx).Exec("SELECT pg_notify(?, ?)", s.channel, topic+":"+s.origin+":"+payload).Error)
}

// Channel is the PostgreSQL notification channel of this database and
// schema ("" on SQLite).
func (s *Store) Channel() string { return s.channel }

// Change is one published change.
type Change struct {
	Topic   string
	Payload string
}

// ListenOptions tune Listen.
type ListenOptions struct {
	// OnChange receives every change, in order.
	OnChange func(Change)
	// OnReset is called whenever changes may have been missed: on
	// (re)connecting, after a lost connection. Drop everything cached.
	OnReset func()
	// OnReady is called each time the listener is subscribed.
	OnReady func()
	Logger  *slog.Logger
}

// Listen follows the changes published by every process sharing the
// database on a dedicated connection, until ctx ends. A lost connection
// is retried with capped exponential backoff and jitter; OnReset runs
// before every subscription, so a change missed while disconnected can
// never be served stale for longer than the reconnect. On SQLite it
// returns at once (one process: nothing to hear).
func (s *Store) Listen(ctx context.Context, o ListenOptions) {
	if s.dialect != migrations.Postgres {
		return
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, o)
		if ctx.Err() != nil {
			return
		}
		o.Logger.Warn("change listener lost its connection; reconnecting and dropping caches",
			slog.String("error", sqldb.RedactDSN(err, s.dsn).Error()), slog.Duration("retry_in", backoff))
		if o.OnReset != nil {
			o.OnReset()
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, o ListenOptions) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, s.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	if o.OnReset != nil {
		o.OnReset() // anything before the subscription may have been missed
	}
	if o.OnReady != nil {
		o.OnReady()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = errors.New("listener closed")
			}
			return err
		}
		// "topic:origin:payload"
		topic, rest, _ := strings.Cut(n.Payload, ":")
		origin, payload, _ := strings.Cut(rest, ":")
		if origin == s.origin {
			continue
		}
		if o.OnChange != nil {
			o.OnChange(Change{Topic: topic, Payload: payload})
		}
	}
}
