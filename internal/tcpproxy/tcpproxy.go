// Package tcpproxy is a loopback TCP proxy that can cut the link it
// carries: the fault a database failover or a network partition makes,
// for tests and for scripts/failover.sh.
package tcpproxy

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Proxy forwards connections from its own loopback address to a target.
type Proxy struct {
	ln     net.Listener
	target string
	cut    atomic.Bool
	dark   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// New listens on 127.0.0.1 (a free port) and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones (they are accepted and
// closed at once) until Restore.
func (p *Proxy) Cut() {
	p.cut.Store(true)
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// RefuseNew refuses new connections (accepted and closed at once) and
// leaves the open ones working, until Restore: a database that takes no
// new connection while a pool's keep serving.
func (p *Proxy) RefuseNew() { p.cut.Store(true) }

// BlackHole makes the link go dark: no byte goes through either way and
// nothing is closed (no reset), as a partition that drops packets; new
// connections are accepted and left silent. Restore closes what it held
// (the dropped bytes broke those streams) and lets connections through.
func (p *Proxy) BlackHole() { p.dark.Store(true) }

// Restore lets connections through again.
func (p *Proxy) Restore() {
	if p.dark.Swap(false) {
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	}
	p.cut.Store(false)
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if p.cut.Load() {
			_ = c.Close()
			continue
		}
		if p.dark.Load() {
			p.track(c) // silent until Restore closes it
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.track(c, up)
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

// pipe copies src to dst; when either ends, both close.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.dark.Load() { // dark: the bytes are dropped
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}
