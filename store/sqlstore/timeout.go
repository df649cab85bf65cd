package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credvault/credvault/store"
	"gorm.io/gorm"
)

// DefaultStatementTimeout bounds each statement when Options.StatementTimeout
// is not set (CREDVAULT_DB_TIMEOUT).
const DefaultStatementTimeout = 5 * time.Second

const cancelKey = "credvault:cancel"

// boundStatements gives every statement of db a deadline of at most d: a
// database link that goes dark (packets dropped, no reset) then fails each
// statement within d as ErrUnavailable (the API's 503 with Retry-After),
// instead of holding every request until the link comes back. A caller's
// earlier deadline is kept; a caller's cancellation stays its own error.
func boundStatements(db *gorm.DB, d time.Duration) error {
	// bound gives db's statement a context ending within d, unless the
	// caller's already does.
	bound := func(db *gorm.DB) (parent context.Context, cancel context.CancelFunc, ok bool) {
		parent = db.Statement.Context
		if parent == nil {
			parent = context.Background()
		}
		if dl, has := parent.Deadline(); has && time.Until(dl) <= d {
			return parent, nil, false
		}
		ctx, cancel := context.WithTimeout(parent, d)
		db.Statement.Context = ctx
		return parent, cancel, true
	}
	before := func(db *gorm.DB) {
		if parent, cancel, ok := bound(db); ok {
			db.InstanceSet(cancelKey, cancel)
			db.InstanceSet(cancelKey+":parent", parent)
		}
	}
	after := func(db *gorm.DB) {
		v, ok := db.InstanceGet(cancelKey)
		if !ok {
			return
		}
		v.(context.CancelFunc)()
		p, _ := db.InstanceGet(cancelKey + ":parent")
		parent, _ := p.(context.Context)
		db.Statement.Context = parent
		if db.Error != nil && errors.Is(db.Error, context.DeadlineExceeded) && parent != nil && parent.Err() == nil {
			db.Error = fmt.Errorf("%w: no answer within %s (CREDVAULT_DB_TIMEOUT): %w", store.ErrUnavailable, d, db.Error)
		}
	}
	// A row query's rows are read after its callbacks: its deadline is
	// left to expire (or the rows to close) instead of cancelled early.
	beforeRows := func(db *gorm.DB) {
		if _, cancel, ok := bound(db); ok {
			time.AfterFunc(d, cancel)
		}
	}
	if err := db.Callback().Row().Before("gorm:row").Register("credvault:timeout_before", beforeRows); err != nil {
		return err
	}
	cb := db.Callback()
	type reg struct {
		before, after interface {
			Register(string, func(*gorm.DB)) error
		}
	}
	for _, r := range []reg{
		{cb.Create().Before("gorm:create"), cb.Create().After("gorm:create")},
		{cb.Query().Before("gorm:query"), cb.Query().After("gorm:query")},
		{cb.Update().Before("gorm:update"), cb.Update().After("gorm:update")},
		{cb.Delete().Before("gorm:delete"), cb.Delete().After("gorm:delete")},
		{cb.Raw().Before("gorm:raw"), cb.Raw().After("gorm:raw")},
	} {
		if err := r.before.Register("credvault:timeout_before", before); err != nil {
			return err
		}
		if err := r.after.Register("credvault:timeout_after", after); err != nil {
			return err
		}
	}
	return nil
}
