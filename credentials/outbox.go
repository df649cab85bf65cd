package credentials

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// Outbox timing.
const (
	outboxInterval = time.Second
	outboxBatch    = 50
	// DefaultOutboxLease is how long a claimed deletion is hidden from
	// other workers (WithOutboxLease).
	DefaultOutboxLease = 2 * time.Minute
	outboxMaxDelay     = 5 * time.Minute
)

// Outbox is the record of vault items that must be deleted (a
// compensation, a replaced or migrated item, a user's delete): its worker
// deletes each through the configuration that stored it until the service
// confirms. It shares its Service's storage and vault; its state is its
// own.
type Outbox struct {
	store Storage
	vault vault.SourcedVault
	log   *slog.Logger
	// lease hides a claimed deletion from other workers (WithOutboxLease).
	lease time.Duration
	// recover, when set, runs after every tick: the creates a stopped
	// process left, once their lease ends (Maintenance.RecoverCreates).
	recover func(ctx context.Context) int
	// attempts counts attempts at deletions, for the metric.
	attempts atomic.Uint64
	// failures counts the worker's failed ticks in a row, logged once,
	// then once a minute (warned).
	mu       sync.Mutex
	failures int
	warned   time.Time
	// pruned is when tombstones were last pruned (by the worker only).
	pruned time.Time
}

func newOutbox(st Storage, v vault.SourcedVault, log *slog.Logger) *Outbox {
	return &Outbox{store: st, vault: v, log: log, lease: DefaultOutboxLease}
}

// Outbox returns the Service's outbox.
func (s *Service) Outbox() *Outbox { return s.outbox }

// claimFailed logs a worker tick that could not reach the database: once
// when it starts, then at most once a minute with how many ticks failed.
func (o *Outbox) claimFailed(ctx context.Context, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures++
	now := time.Now()
	if o.failures == 1 || now.Sub(o.warned) >= time.Minute {
		o.log.WarnContext(ctx, "outbox: could not claim deletions; retrying every second", slog.String("error", err.Error()),
			slog.Int("failed_ticks", o.failures))
		o.warned = now
	}
}

// claimed ends a run of failed ticks, saying so.
func (o *Outbox) claimed(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failures > 0 {
		o.log.InfoContext(ctx, "outbox: claiming deletions again", slog.Int("failed_ticks", o.failures))
		o.failures = 0
	}
}

// Attempts is how many attempts at recorded deletions this outbox has
// made.
func (o *Outbox) Attempts() uint64 { return o.attempts.Load() }

// backoff is the delay before attempt n+1: exponential from 1 s, capped,
// with jitter so replicas do not retry in step.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 20)
	if d > outboxMaxDelay || d <= 0 {
		d = outboxMaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// cleanup deletes an item that must not outlive a failed or replaced
// operation (cause: the failed row write's error, nil when none was
// tried). The deletion is recorded first, with the settling of the
// create that made the item (createKey) and the key's retirement, so a
// failure — now or after a crash — is retried by the outbox worker until
// the service confirms.
func (s *Service) cleanup(ctx context.Context, orgID string, ref vault.ItemRef, createKey, why string, cause error) {
	// A new credential's key (its id) is never sent again; an update's or
	// migration's is, by a retry, until it is retired.
	resent := createKey != "" && strings.Contains(createKey, "/")
	// A row write whose commit was not confirmed may have been made: the
	// row may point at this item. Only the database can say, in the
	// transaction below (settling the create fails if the row write
	// settled it) or, if it is out, in the create's recovery.
	maybeWritten := errors.Is(cause, store.ErrCommitUnknown)
	d := s.outbox.deletion(orgID, ref, why)
	d.CreateKey = createKey
	bctx := context.WithoutCancel(ctx)
	if err := s.store.Tx(bctx, func(tx Storage) error {
		// Only while this process still owns the create: a retry that took
		// it over may point a row at this very item.
		if err := tx.SettleCreate(bctx, createKey, s.owner); err != nil {
			return err
		}
		return tx.EnqueueDeletion(bctx, d)
	}); errors.Is(err, store.ErrCreateTakenOver) && maybeWritten {
		s.log.InfoContext(ctx, "the row write whose commit was not confirmed had been made, or a recovery took its create over: its item is kept",
			slog.String("organization_id", orgID), slog.String("idempotency_key", createKey))
		return
	} else if errors.Is(err, store.ErrCreateTakenOver) {
		s.log.InfoContext(ctx, "a retry or a recovery took over this create; its item is left to it",
			slog.String("organization_id", orgID), slog.String("idempotency_key", createKey), slog.String("reason", why))
		return
	} else if err != nil {
		// The database is out too. A key a retry may send again cannot be
		// retired now, so its item is left for the retry to get back (the
		// same secret) or for reconcile to recover through the create's
		// record, still in flight. Any other item is deleted at once; if
		// that fails, the record is how reconcile finds it.
		if maybeWritten {
			s.log.WarnContext(ctx, "the row write's commit was not confirmed and the database is out; the item is left to the create's recovery, "+
				"which keeps it if the row was written and deletes it otherwise",
				slog.String("organization_id", orgID), slog.String("item_id", ref.ID), slog.String("stored_by", ref.Source),
				slog.String("idempotency_key", createKey), slog.String("reason", why), slog.String("error", err.Error()))
			return
		}
		if resent {
			s.log.ErrorContext(ctx, "could not record the deletion of a vault item; it stays for a retry or `credvault reconcile --fix`",
				slog.String("organization_id", orgID), slog.String("item_id", ref.ID), slog.String("stored_by", ref.Source),
				slog.String("idempotency_key", createKey), slog.String("reason", why), slog.String("error", err.Error()))
			return
		}
		cctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := s.vault.Delete(cctx, orgID, ref); err != nil && !errors.Is(err, vault.ErrItemGone) {
			s.log.ErrorContext(ctx, "could not record nor delete a vault item; `credvault reconcile` lists its create",
				slog.String("organization_id", orgID), slog.String("item_id", ref.ID), slog.String("stored_by", ref.Source),
				slog.String("idempotency_key", createKey), slog.String("reason", why), slog.String("error", err.Error()))
		} else if serr := s.store.SettleCreate(bctx, createKey, s.owner); serr != nil {
			s.log.WarnContext(ctx, "deleted a vault item whose row could not be written; its create stays recorded for reconcile",
				slog.String("idempotency_key", createKey), slog.String("error", serr.Error()))
		}
		return
	}
	s.outbox.attempt(bctx, d)
}

// deletion is a new outbox entry that this process attempts at once: it
// is leased to it, so another replica's worker does not delete the same
// item at the same time.
func (o *Outbox) deletion(orgID string, ref vault.ItemRef, why string) store.VaultDeletion {
	return store.VaultDeletion{ID: store.NewID("del"), OrganizationID: orgID, ItemID: ref.ID, VaultSource: ref.Source,
		Reason: why, NextAttemptAt: o.store.Now().Add(o.lease)}
}

// attempt tries one recorded deletion and settles it: done on 2xx or 404,
// rescheduled with backoff otherwise.
func (o *Outbox) attempt(ctx context.Context, d store.VaultDeletion) {
	o.attempts.Add(1)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := o.vault.Delete(cctx, d.OrganizationID, vault.ItemRef{ID: d.ItemID, Source: d.VaultSource})
	if err == nil || errors.Is(err, vault.ErrItemGone) {
		if d.Attempts > 0 {
			// A deletion that failed before has gone through: say so.
			o.log.InfoContext(ctx, "a delayed vault item deletion succeeded",
				slog.String("organization_id", d.OrganizationID), slog.String("item_id", d.ItemID), slog.String("stored_by", d.VaultSource),
				slog.Int("attempts", d.Attempts+1), slog.String("delayed", o.store.Now().Sub(d.CreatedAt).Round(time.Second).String()))
		}
		if ferr := o.store.FinishDeletion(ctx, d.ID); ferr != nil {
			o.log.WarnContext(ctx, "vault item deleted, but its outbox entry stays until the next attempt confirms it",
				slog.String("deletion_id", d.ID), slog.String("error", ferr.Error()))
		}
		return
	}
	d.Attempts++
	next := o.store.Now().Add(backoff(d.Attempts))
	if rerr := o.store.RetryDeletion(ctx, d.ID, d.Attempts, next, err.Error()); rerr != nil {
		o.log.WarnContext(ctx, "could not reschedule a vault deletion; the lease expiry retries it",
			slog.String("deletion_id", d.ID), slog.String("error", rerr.Error()))
	}
	o.log.WarnContext(ctx, "vault item deletion failed; it will be retried",
		slog.String("organization_id", d.OrganizationID), slog.String("item_id", d.ItemID), slog.String("stored_by", d.VaultSource),
		slog.Int("attempts", d.Attempts), slog.Time("next_attempt_at", next), slog.String("error", err.Error()))
}

// Run deletes recorded items until ctx ends: every second it claims
// what is due (on PostgreSQL several replicas share the work without
// taking the same entry) and settles it.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(outboxInterval)
	defer t.Stop()
	for {
		o.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick is one second of the worker: the deletions due now, the service's
// recovery hook (creates a stopped process left, spooled audit events),
// and, hourly, the tombstones past their retention.
func (o *Outbox) Tick(ctx context.Context) {
	o.RunOnce(ctx)
	if o.recover != nil {
		o.recover(ctx)
	}
	if now := o.store.Now(); now.Sub(o.pruned) > time.Hour {
		if _, err := o.store.PruneTombstones(ctx, now.Add(-store.TombstoneRetention)); err == nil {
			o.pruned = now
		}
	}
}

// RunOnce settles the deletions due now and reports how many it
// tried.
func (o *Outbox) RunOnce(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		ds, err := o.store.ClaimDeletions(ctx, outboxBatch, o.lease)
		if err != nil {
			if ctx.Err() == nil {
				o.claimFailed(ctx, err)
			}
			return n
		}
		o.claimed(ctx)
		for _, d := range ds {
			o.attempt(ctx, d)
		}
		n += len(ds)
		if len(ds) < outboxBatch {
			return n
		}
	}
	return n
}

// Deletion is a recorded vault item deletion as `credvault outbox list`
// shows it: ids, attempts and the last error, never a secret.
type Deletion struct {
	DeletionID     string    `json:"deletion_id"`
	OrganizationID string    `json:"organization_id"`
	ItemID         string    `json:"item_id"`
	StoredBy       string    `json:"stored_by"`
	Reason         string    `json:"reason"`
	Attempts       int       `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	LastError      string    `json:"last_error"`
	CreatedAt      time.Time `json:"created_at"`
}

// Pending lists up to limit recorded deletions the service has
// not confirmed yet, oldest first.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]Deletion, error) {
	ds, err := o.store.ListDeletions(ctx, limit)
	out := make([]Deletion, len(ds))
	for i, d := range ds {
		out[i] = Deletion{d.ID, d.OrganizationID, d.ItemID, d.VaultSource, d.Reason, d.Attempts, d.NextAttemptAt.UTC(), d.LastError, d.CreatedAt.UTC()}
	}
	return out, err
}
