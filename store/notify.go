package store

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/credvault/credvault/internal/sqldb"
	"github.com/credvault/credvault/migrations"
)

// Change topics published on every change that processes may have cached.
// Payloads are ids only, never a secret.
const (
	TopicConfig     = "config"     // payload: organization id
	TopicAPIKey     = "key"        // payload: API key id
	TopicCredential = "credential" // payload: organization id + "/" + credential id
)

// Publish announces a change to every process sharing the database:
// inside a transaction (Tx) it is delivered only if and when the
// transaction commits. PostgreSQL sends a NOTIFY; SQLite appends to the
// change log (store_changes) that other processes poll.
func (s *Store) Publish(ctx context.Context, topic, payload string) error {
	if s.dialect != migrations.Postgres {
		return wrap("publish change", s.ctx(ctx).Create(&storeChange{Topic: topic, Origin: s.origin, Payload: payload, CreatedAt: s.Now()}).Error)
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
// database until ctx ends. On PostgreSQL it listens on a dedicated
// connection: a lost connection is retried with capped exponential
// backoff and jitter, and OnReset runs before every subscription, so a
// change missed while disconnected can never be served stale for longer
// than the reconnect. On SQLite it polls the change log every
// ChangePollInterval.
func (s *Store) Listen(ctx context.Context, o ListenOptions) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if s.dialect != migrations.Postgres {
		s.pollChanges(ctx, o)
		return
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
	if s.borrowed {
		// The caller's pool: one of its connections, held while listening.
		conn, err := s.SQLDB().Conn(ctx)
		if err != nil {
			return err
		}
		// It goes back to the pool unsubscribed (UNLISTEN *).
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return errors.New("store: Options.DB must use the pgx driver (github.com/jackc/pgx/v5/stdlib) for change notifications")
			}
			err := s.listenOn(ctx, pc.Conn(), o)
			_, _ = pc.Conn().Exec(context.WithoutCancel(ctx), "UNLISTEN *")
			return err
		})
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, s.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.listenOn(ctx, conn, o)
}

// listenOn subscribes conn to the change channel and delivers changes
// until ctx ends or the connection fails.
func (s *Store) listenOn(ctx context.Context, conn *pgx.Conn, o ListenOptions) error {
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

// storeChange is one entry of the embedded database's change log.
type storeChange struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement"`
	Topic     string
	Origin    string
	Payload   string
	CreatedAt time.Time
}

// TableName implements gorm's tabler.
func (storeChange) TableName() string { return "store_changes" }

// ChangePollInterval is how often a process on the embedded database reads
// the change log.
const ChangePollInterval = time.Second

// changeRetention is how long the change log keeps an entry.
const changeRetention = time.Hour

// pollChanges reads the change log once a ChangePollInterval and delivers
// what other processes published. A failed read drops every cache
// (OnReset): changes may be missed while the database cannot be read.
func (s *Store) pollChanges(ctx context.Context, o ListenOptions) {
	var last int64
	start := func() bool {
		if err := s.ctx(ctx).Model(&storeChange{}).Select("COALESCE(MAX(seq), 0)").Scan(&last).Error; err != nil {
			return false
		}
		if o.OnReset != nil {
			o.OnReset()
		}
		if o.OnReady != nil {
			o.OnReady()
		}
		return true
	}
	ready := start()
	t := time.NewTicker(ChangePollInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !ready {
			ready = start()
			continue
		}
		var cs []storeChange
		if err := s.ctx(ctx).Where("seq > ?", last).Order("seq").Limit(1000).Find(&cs).Error; err != nil {
			if ctx.Err() != nil {
				return
			}
			o.Logger.Warn("could not read the change log; dropping caches", slog.String("error", err.Error()))
			if o.OnReset != nil {
				o.OnReset()
			}
			ready = false
			continue
		}
		for _, c := range cs {
			last = c.Seq
			if c.Origin != s.origin && o.OnChange != nil {
				o.OnChange(Change{Topic: c.Topic, Payload: c.Payload})
			}
		}
		if now := s.Now(); now.Sub(pruned) > time.Minute {
			pruned = now
			_ = s.ctx(ctx).Where("created_at < ?", now.Add(-changeRetention)).Delete(&storeChange{}).Error
		}
	}
}
