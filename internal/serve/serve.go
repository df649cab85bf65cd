// Package serve runs HTTP listeners the way both credvault binaries do:
// every address is bound before anything is announced (a busy port fails
// before "listening"), timeouts bound slow clients, server errors go to the
// structured log, and the context's end shuts every listener down
// gracefully.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listener is one address to serve.
type Listener struct {
	// Name is what the log calls it ("credvault", "metrics").
	Name string
	Addr string
	// Env names the variable that set Addr, for the bind error.
	Env     string
	Handler http.Handler
	// WriteTimeout bounds writing an answer (default 60 s).
	WriteTimeout time.Duration
	// TLS, when set, serves HTTPS (TLSFiles.Config).
	TLS *tls.Config
}

// Options tune RunWith.
type Options struct {
	// Drain is how long the listeners keep serving once ctx ends, with
	// keep-alives off (every answer says Connection: close), before they
	// stop accepting: a load balancer polling readiness (OnDrain turns it
	// to 503) moves away, and no client is left sending on a keep-alive
	// connection the shutdown closes. Zero shuts down at once.
	Drain time.Duration
	// OnDrain runs when ctx ends, before the drain.
	OnDrain func()
}

// Run binds every listener, logs each address, serves until ctx ends or
// one fails, then shuts all down within 20 s.
func Run(ctx context.Context, log *slog.Logger, ls ...Listener) error {
	return RunWith(ctx, log, Options{}, ls...)
}

// RunWith is Run with a drain before the shutdown (Options): then every
// request accepted is answered, and none is reset.
func RunWith(ctx context.Context, log *slog.Logger, o Options, ls ...Listener) error {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			closeAll()
			if l.Env != "" {
				return fmt.Errorf("listen on %s (%s): %w", l.Addr, l.Env, err)
			}
			return fmt.Errorf("listen on %s: %w", l.Addr, err)
		}
		if l.TLS != nil {
			ln = tls.NewListener(ln, l.TLS)
		}
		lns = append(lns, ln)
	}
	errc := make(chan error, len(ls))
	servers := make([]*http.Server, len(ls))
	for i, l := range ls {
		wt := l.WriteTimeout
		if wt == 0 {
			wt = 60 * time.Second
		}
		servers[i] = &http.Server{Handler: l.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: wt, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { errc <- servers[i].Serve(lns[i]) }()
		scheme := "http"
		if l.TLS != nil {
			scheme = "https"
		}
		log.Info(l.Name+" listening", slog.String("addr", lns[i].Addr().String()), slog.String("scheme", scheme))
	}
	var failed error
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			failed = fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		if o.OnDrain != nil {
			o.OnDrain()
		}
		if o.Drain > 0 {
			log.Info("draining: readiness answers 503, keep-alives off", slog.String("for", o.Drain.String()))
			for _, s := range servers {
				s.SetKeepAlivesEnabled(false)
			}
			t := time.NewTimer(o.Drain)
			select {
			case err := <-errc:
				if !errors.Is(err, http.ErrServerClosed) {
					failed = fmt.Errorf("serve: %w", err)
				}
			case <-t.C:
			}
			t.Stop()
		}
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}
