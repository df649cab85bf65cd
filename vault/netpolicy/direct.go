package netpolicy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The direct path: one HTTP/1.1 exchange written and read on the calling
// goroutine, over a connection kept alive in the Transport's own pool.
//
// http.Transport serves a request through two goroutines per connection
// (one writes, one reads) and hands the request and the answer between
// them and the caller over channels: three wake-ups per exchange, each a
// scheduler hop and, on an idle machine, a sleeping thread to wake. A
// contract call is a small request answered by a small body read whole,
// so none of that buys anything: Exchange writes the request in one
// write, reads the answer with net/http's own parser (http.ReadResponse:
// chunked and length-delimited bodies, Connection: close) and returns the
// connection to the pool, all before it returns. The dialer, the address
// rules, the TLS trust, the connections-per-host cap, the idle timeout
// and the connections-opened count are the http.Transport's.

// Field is one request header field.
type Field struct{ Name, Value string }

// Exchange is one request of the direct path.
type Exchange struct {
	Method string
	URL    *url.URL // http or https; its Host is the Host header
	// Header is written in order after Host (never Host, Content-Length
	// or Transfer-Encoding: the body's length is written from Body).
	Header []Field
	// Body is the request body; nil sends none.
	Body []byte
	// Deadline bounds the whole exchange: waiting for a connection,
	// dialing, the TLS handshake, writing and reading.
	Deadline time.Time
	// MaxBody bounds the answer's body: at most MaxBody+1 bytes are read
	// (one more tells an oversized answer, whose connection is closed).
	MaxBody int
	// StatusOnly says a 2xx answer's body does not matter: it is read
	// only so the connection can be reused, and a failure to read it
	// closes the connection without failing the exchange.
	StatusOnly bool
}

// Answer is the service's answer to an Exchange.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// PeerNotAfter is when the certificate the service presented on this
	// connection expires (zero over plain HTTP).
	PeerNotAfter time.Time
}

// errBadHeader is a header field that cannot be written on the wire.
var errBadHeader = errors.New("invalid header field value")

// errNoDeadline is an Exchange without a Deadline.
var errNoDeadline = errors.New("netpolicy: an exchange needs a deadline")

// aLongTimeAgo is a deadline in the past: it unblocks a read or write at
// once (a cancelled exchange).
var aLongTimeAgo = time.Unix(1, 0)

// Exchange performs x on a pooled connection to x.URL's host (dialled
// when none is idle, within the per-host cap). A request that fails on a
// reused connection before any byte of an answer came back is sent again
// once on a new connection when it is safe to: its method is idempotent,
// it carries an Idempotency-Key, or writing it failed (the service had
// closed the connection). Errors are the dialer's, crypto/tls's and the
// connection's; a deadline reached is os.ErrDeadlineExceeded (Timeout).
func (t *Transport) Exchange(ctx context.Context, x *Exchange) (Answer, error) {
	if x.Deadline.IsZero() {
		return Answer{}, errNoDeadline
	}
	for _, f := range x.Header {
		if !validFieldValue(f.Value) || !validFieldValue(f.Name) {
			return Answer{}, errBadHeader
		}
	}
	key := x.URL.Scheme + "://" + x.URL.Host
	h, err := t.pool.acquire(ctx, key, t.perHost, x.Deadline)
	if err != nil {
		return Answer{}, err
	}
	defer t.pool.release(key, h)
	for attempt := 0; ; attempt++ {
		pc, reused := t.pool.idleConn(h)
		if pc == nil {
			if pc, err = t.dialDirect(ctx, x); err != nil {
				return Answer{}, err
			}
		}
		a, keep, wrote, err := pc.exchange(ctx, x)
		if err == nil {
			if keep {
				t.pool.put(h, pc)
			} else {
				pc.close()
			}
			return a, nil
		}
		pc.close()
		again := reused && attempt == 0 && pc.nread == 0 && ctx.Err() == nil && time.Now().Before(x.Deadline) &&
			(!wrote || idempotent(x))
		if !again {
			return Answer{}, err
		}
	}
}

// idempotent reports whether x may be sent twice (net/http's rule).
func idempotent(x *Exchange) bool {
	switch x.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	for _, f := range x.Header {
		if strings.EqualFold(f.Name, "Idempotency-Key") || strings.EqualFold(f.Name, "X-Idempotency-Key") {
			return true
		}
	}
	return false
}

// validFieldValue refuses what would split or corrupt a header line:
// control characters but the tab (RFC 9110 field-value).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// dialDirect opens a connection for x (TCP through the policy's dialer,
// then TLS for https), bounded by x.Deadline.
func (t *Transport) dialDirect(ctx context.Context, x *Exchange) (*directConn, error) {
	ctx, cancel := context.WithDeadline(ctx, x.Deadline)
	defer cancel()
	host, port := x.URL.Hostname(), x.URL.Port()
	tlsOn := x.URL.Scheme == "https"
	if port == "" {
		port = "80"
		if tlsOn {
			port = "443"
		}
	}
	raw, err := t.Transport.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, err
	}
	pc := &directConn{c: raw, raw: raw}
	if tlsOn {
		cfg := t.h1TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		if st := tc.ConnectionState(); len(st.PeerCertificates) > 0 {
			pc.notAfter = st.PeerCertificates[0].NotAfter
		}
		pc.c = tc
	}
	pc.br = bufio.NewReaderSize(pc, 4096)
	return pc, nil
}

// directConn is one kept-alive connection of the direct path.
type directConn struct {
	c   net.Conn // the TLS connection, or raw
	raw net.Conn // the TCP connection
	br  *bufio.Reader
	buf []byte // the request being written (kept for the next)
	// nread counts the bytes read from c during the current exchange.
	nread    int
	notAfter time.Time
	idleAt   time.Time
}

// Read counts what the buffered reader reads.
func (d *directConn) Read(p []byte) (int, error) {
	n, err := d.c.Read(p)
	d.nread += n
	return n, err
}

func (d *directConn) close() { _ = d.c.Close() }

// exchange writes x and reads its answer. keep says the connection may
// serve another exchange; wrote that the whole request was written.
func (d *directConn) exchange(ctx context.Context, x *Exchange) (a Answer, keep, wrote bool, err error) {
	d.nread = 0
	if err := d.c.SetDeadline(x.Deadline); err != nil {
		return Answer{}, false, false, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = d.c.SetDeadline(aLongTimeAgo) })
		defer func() {
			if !stop() {
				// The cancellation has poisoned the deadline: the
				// connection is done.
				keep = false
			}
		}()
	}
	w := append(d.buf[:0], x.Method...)
	w = append(w, ' ')
	w = append(w, x.URL.RequestURI()...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, x.URL.Host...)
	w = append(w, "\r\n"...)
	for _, f := range x.Header {
		w = append(append(append(append(w, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	if x.Body != nil || (x.Method != http.MethodGet && x.Method != http.MethodHead) {
		w = append(append(append(w, "Content-Length: "...), strconv.Itoa(len(x.Body))...), "\r\n"...)
	}
	w = append(append(w, "\r\n"...), x.Body...)
	if cap(w) <= 16<<10 {
		d.buf = w[:0]
	}
	if _, err := d.c.Write(w); err != nil {
		return Answer{}, false, false, err
	}
	var resp *http.Response
	for {
		if resp, err = http.ReadResponse(d.br, nil); err != nil {
			return Answer{}, false, true, err
		}
		// An informational answer (103 Early Hints) precedes the answer.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	a = Answer{Status: resp.StatusCode, Header: resp.Header, PeerNotAfter: d.notAfter}
	if a.Body, err = readAtMost(resp, x.MaxBody); err != nil {
		if x.StatusOnly && a.Status >= 200 && a.Status <= 299 {
			return a, false, true, nil
		}
		return Answer{}, false, true, err
	}
	keep = len(a.Body) <= x.MaxBody && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if keep {
		// The body was read to its end: closing it reads nothing more
		// (net/http would drain an unread one).
		_ = resp.Body.Close()
		keep = d.br.Buffered() == 0
	}
	return a, keep, true, nil
}

// readAtMost reads resp's body, at most max+1 bytes: in one read of its
// declared length when it has one within the bound.
func readAtMost(resp *http.Response, max int) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= int64(max) {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
}

// directPool holds the direct path's connections per scheme and host.
type directPool struct {
	mu    sync.Mutex
	hosts map[string]*directHost
	idle  int // idle connections, every host
	sweep *time.Timer
}

// directHost is one host's connections: active counts the exchanges
// holding one of its perHost slots (a connection, in use or being
// dialled); waiting ones queue in order.
type directHost struct {
	active  int
	idle    []*directConn // most recently used last
	waiters []chan struct{}
}

// acquire takes one of key's perHost slots, waiting in line until one
// frees, ctx ends or deadline passes.
func (p *directPool) acquire(ctx context.Context, key string, perHost int, deadline time.Time) (*directHost, error) {
	p.mu.Lock()
	if p.hosts == nil {
		p.hosts = map[string]*directHost{}
	}
	h := p.hosts[key]
	if h == nil {
		h = &directHost{}
		p.hosts[key] = h
	}
	if h.active < perHost {
		h.active++
		p.mu.Unlock()
		return h, nil
	}
	ch := make(chan struct{}, 1)
	h.waiters = append(h.waiters, ch)
	p.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var err error
	select {
	case <-ch:
		return h, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = os.ErrDeadlineExceeded
	}
	p.mu.Lock()
	for i, w := range h.waiters {
		if w == ch {
			h.waiters = append(h.waiters[:i], h.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, err
		}
	}
	p.mu.Unlock()
	// The slot was handed over as the wait ended: pass it on.
	p.release(key, h)
	return nil, err
}

// release frees a slot of key: the next in line takes it, else the
// host's count drops (and an unused host is forgotten).
func (p *directPool) release(key string, h *directHost) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(h.waiters) > 0 {
		ch := h.waiters[0]
		h.waiters = h.waiters[1:]
		ch <- struct{}{}
		return
	}
	h.active--
	if h.active == 0 && len(h.idle) == 0 && p.hosts[key] == h {
		delete(p.hosts, key)
	}
}

// idleConn takes h's most recently used idle connection that is still
// open (nil when none is).
func (p *directPool) idleConn(h *directHost) (*directConn, bool) {
	for {
		p.mu.Lock()
		n := len(h.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil, false
		}
		pc := h.idle[n-1]
		h.idle[n-1] = nil
		h.idle = h.idle[:n-1]
		p.idle--
		p.mu.Unlock()
		if time.Since(pc.idleAt) < idleConnTimeout && alive(pc.raw) {
			return pc, true
		}
		pc.close()
	}
}

// put keeps pc idle for h, unless the process already keeps
// maxIdleConns idle.
func (p *directPool) put(h *directHost, pc *directConn) {
	pc.idleAt = time.Now()
	p.mu.Lock()
	if p.idle >= maxIdleConns {
		p.mu.Unlock()
		pc.close()
		return
	}
	h.idle = append(h.idle, pc)
	p.idle++
	if p.sweep == nil {
		p.sweep = time.AfterFunc(idleConnTimeout, p.closeExpired)
	}
	p.mu.Unlock()
}

// closeExpired closes the connections idle for idleConnTimeout, and comes
// back while any stay idle.
func (p *directPool) closeExpired() {
	p.closeIdle(time.Now().Add(-idleConnTimeout))
}

// closeIdle closes the connections idle since before cutoff.
func (p *directPool) closeIdle(cutoff time.Time) {
	var closing []*directConn
	p.mu.Lock()
	for key, h := range p.hosts {
		kept := h.idle[:0]
		for _, pc := range h.idle {
			if pc.idleAt.Before(cutoff) {
				closing = append(closing, pc)
			} else {
				kept = append(kept, pc)
			}
		}
		clear(h.idle[len(kept):])
		h.idle = kept
		if h.active == 0 && len(h.idle) == 0 {
			delete(p.hosts, key)
		}
	}
	p.idle -= len(closing)
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	if p.idle > 0 {
		p.sweep = time.AfterFunc(idleConnTimeout/2, p.closeExpired)
	}
	p.mu.Unlock()
	for _, pc := range closing {
		pc.close()
	}
}

// CloseIdleConnections closes the idle connections of both paths.
func (t *Transport) CloseIdleConnections() {
	t.pool.closeIdle(time.Now().Add(time.Hour))
	t.Transport.CloseIdleConnections()
}
