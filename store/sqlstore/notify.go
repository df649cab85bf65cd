package sqlstore

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
	// OnLost is called when the listener loses its connection (once per
	// outage, before the grace starts): until OnReady, changes made by
	// other processes are not heard.
	OnLost func()
	// Grace is how long caches keep serving after the connection is lost
	// (the database may be out, and nothing can change it meanwhile);
	// OnReset runs when an outage outlasts it, and on reconnecting.
	// Zero resets at once.
	Grace  time.Duration
	Logger *slog.Logger
}

// outage tracks one loss of the change feed: caches are dropped once it
// outlasts the grace, and on recovery.
type outage struct {
	o     ListenOptions
	since time.Time
	timer *time.Timer
}

// lost records a failure; the first of an outage starts its grace.
func (u *outage) lost(err error) {
	if !u.since.IsZero() {
		return
	}
	u.since = time.Now()
	if u.o.OnLost != nil {
		u.o.OnLost()
	}
	reset := func() {
		u.o.Logger.Warn("the change feed is still down: dropping caches; cache misses answer 503 until the database is back",
			slog.String("after", u.o.Grace.String()))
		if u.o.OnReset != nil {
			u.o.OnReset()
		}
	}
	u.o.Logger.Warn("change listener lost its connection; serving what is cached while it reconnects",
		slog.String("error", err.Error()), slog.String("grace", u.o.Grace.String()))
	if u.o.Grace <= 0 {
		reset()
		return
	}
	u.timer = time.AfterFunc(u.o.Grace, reset)
}

// recovered ends an outage (the caller drops caches: OnReset).
func (u *outage) recovered() {
	if u.since.IsZero() {
		return
	}
	if u.timer != nil {
		u.timer.Stop()
	}
	u.o.Logger.Info("the change feed is back; caches dropped", slog.String("outage", time.Since(u.since).Round(time.Millisecond).String()))
	u.since, u.timer = time.Time{}, nil
}

// Listen follows the changes published by every process sharing the
// database until ctx ends. On PostgreSQL it listens on a dedicated
// connection: a lost connection is retried with exponential backoff
// (jittered, capped at a second), and OnReset runs before every
// subscription, so a change missed while disconnected is never served
// stale past the reconnect. While disconnected, caches keep serving for
// Grace (a database that is down changes nothing), then are dropped. On
// SQLite it polls the change log every ChangePollInterval.
func (s *Store) Listen(ctx context.Context, o ListenOptions) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if s.dialect != migrations.Postgres {
		s.pollChanges(ctx, o)
		return
	}
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	down := &outage{o: o}
	inner := o
	inner.OnReady = func() {
		// Subscribed (OnReset has just run): the outage, if any, is over.
		down.recovered()
		backoff = firstBackoff
		if o.OnReady != nil {
			o.OnReady()
		}
	}
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, inner)
		if ctx.Err() != nil {
			if down.timer != nil {
				down.timer.Stop()
			}
			return
		}
		down.lost(sqldb.RedactDSN(err, s.dsn))
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			if down.timer != nil {
				down.timer.Stop()
			}
			return
		case <-t.C:
		}
		// Capped low: once the database is back, changes flow again (and
		// caches are dropped) within about a second.
		backoff = min(backoff*2, time.Second)
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
// what other processes published. While the log cannot be read, caches
// serve for the grace, then are dropped (OnReset); they are dropped again
// once it can.
func (s *Store) pollChanges(ctx context.Context, o ListenOptions) {
	var last int64
	down := &outage{o: o}
	defer func() {
		if down.timer != nil {
			down.timer.Stop()
		}
	}()
	start := func() bool {
		if err := s.ctx(ctx).Model(&storeChange{}).Select("COALESCE(MAX(seq), 0)").Scan(&last).Error; err != nil {
			if ctx.Err() == nil { // not a shutdown
				down.lost(err)
			}
			return false
		}
		if o.OnReset != nil {
			o.OnReset()
		}
		down.recovered()
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
			down.lost(err)
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
