package netpolicy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/vault/netpolicy"
)

// rawServer answers each request on a loopback listener with what answer
// writes (raw bytes on the connection; false closes it without a word).
type rawServer struct {
	url      *url.URL
	accepted atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	seen     []string      // request lines and headers, in order
	closed   chan struct{} // a connection closed by the service
}

func newRawServer(t *testing.T, answer func(n int64, r *http.Request, w io.Writer) bool) *rawServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{url: &url.URL{Scheme: "http", Host: l.Addr().String(), Path: "/items/x"}, closed: make(chan struct{}, 100)}
	var conns sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); conns.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			conns.Go(func() {
				defer func() {
					_ = c.Close()
					s.closed <- struct{}{}
				}()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(r.Body)
					s.mu.Lock()
					s.seen = append(s.seen, r.Method+" "+r.RequestURI+" "+r.Header.Get("Authorization")+" "+string(body))
					s.mu.Unlock()
					if !answer(s.requests.Add(1), r, c) {
						return
					}
				}
			})
		}
	}()
	return s
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

func transport(t *testing.T, perHost int) *netpolicy.Transport {
	t.Helper()
	tr := netpolicy.NewSizedTransport(netpolicy.AddressPolicy{}, perHost)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func exchange(method string, u *url.URL, timeout time.Duration, fields ...netpolicy.Field) *netpolicy.Exchange {
	x := &netpolicy.Exchange{Method: method, URL: u, Deadline: time.Now().Add(timeout), MaxBody: 1 << 10,
		Header: append([]netpolicy.Field{{Name: "Authorization", Value: "Bearer tok"}}, fields...)}
	if method == http.MethodPost {
		x.Body = []byte(`{"a":1}`)
	}
	return x
}

// Sequential exchanges share one connection, and the request is written
// as given: the method, the escaped path, the header, the body.
func TestExchangeKeepsOneConnection(t *testing.T) {
	s := newRawServer(t, func(_ int64, _ *http.Request, w io.Writer) bool {
		_, _ = io.WriteString(w, okAnswer)
		return true
	})
	tr := transport(t, 0)
	for range 20 {
		a, err := tr.Exchange(context.Background(), exchange(http.MethodPost, s.url, 5*time.Second))
		if err != nil || a.Status != 200 || string(a.Body) != "{}" || a.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("answer %d %q %v, %v", a.Status, a.Body, a.Header, err)
		}
	}
	if n := s.accepted.Load(); n != 1 || tr.ConnectionsOpened() != 1 {
		t.Fatalf("%d connections accepted, %d opened; want 1", n, tr.ConnectionsOpened())
	}
	if got := s.seen[0]; got != `POST /items/x Bearer tok {"a":1}` {
		t.Fatalf("the service saw %q", got)
	}
}

// A connection idle past the deadline of the exchange that used it is
// still reused: the liveness peek ignores that deadline (honouring it, it
// found every connection idle longer than the timeout dead, and the
// exchange after such a pause dialled anew).
func TestExchangeReusesAConnectionIdlePastItsDeadline(t *testing.T) {
	s := newRawServer(t, func(_ int64, _ *http.Request, w io.Writer) bool {
		_, _ = io.WriteString(w, okAnswer)
		return true
	})
	tr := transport(t, 0)
	x := exchange(http.MethodGet, s.url, 30*time.Millisecond)
	if _, err := tr.Exchange(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(x.Deadline) + 20*time.Millisecond) // let the first exchange's deadline pass
	if _, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := tr.ConnectionsOpened(); n != 1 {
		t.Fatalf("%d connections opened, want 1", n)
	}
}

// Every body framing net/http's parser knows: chunked, read-until-close
// (the connection is then not reused), after a 103; a body over MaxBody
// is cut at MaxBody+1 bytes and its connection closed.
func TestExchangeReadsEveryFraming(t *testing.T) {
	big := strings.Repeat("y", 5000)
	answers := map[string]string{
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
		"/hints":   "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + okAnswer,
		"/close":   "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close",
		"/big":     "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + big,
	}
	s := newRawServer(t, func(_ int64, r *http.Request, w io.Writer) bool {
		_, _ = io.WriteString(w, answers[r.URL.Path])
		return r.URL.Path != "/close"
	})
	tr := transport(t, 0)
	for path, want := range map[string]string{"/chunked": "abcde", "/hints": "{}", "/close": "until-close", "/big": big[:1025]} {
		u := *s.url
		u.Path = path
		a, err := tr.Exchange(context.Background(), exchange(http.MethodGet, &u, 5*time.Second))
		if err != nil || a.Status != 200 || string(a.Body) != want {
			t.Errorf("%s: %d %.40q, %v; want 200 %.40q", path, a.Status, a.Body, err, want)
		}
	}
	// /close and /big ended their connections.
	if n := s.accepted.Load(); n < 2 || n > 3 {
		t.Errorf("%d connections for 4 exchanges, two of which end theirs", n)
	}
}

// A connection the service closed while idle is not used again: even a
// POST without an idempotency key (which is never sent twice) succeeds
// on a new connection.
func TestExchangeDropsAConnectionClosedWhileIdle(t *testing.T) {
	s := newRawServer(t, func(_ int64, _ *http.Request, w io.Writer) bool {
		_, _ = io.WriteString(w, okAnswer)
		return false // the service closes every connection after answering
	})
	tr := transport(t, 0)
	for i := range 3 {
		if _, err := tr.Exchange(context.Background(), exchange(http.MethodPost, s.url, 5*time.Second)); err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		<-s.closed // on loopback, the close has reached this side
	}
	if s.requests.Load() != 3 {
		t.Fatalf("the service saw %d POSTs, want 3 (none sent twice)", s.requests.Load())
	}
}

// A reused connection that fails before any answer (the service closed it
// between the check and the request) gets the request again on a new
// connection only when sending it twice is safe: GET, DELETE, a POST with
// an Idempotency-Key; a plain POST fails and is sent once.
func TestExchangeRetriesOnlyWhatIsSafe(t *testing.T) {
	s := newRawServer(t, func(n int64, r *http.Request, w io.Writer) bool {
		if r.Header.Get("X-Drop") != "" && r.Header.Get("X-Dropped") == "" {
			// Close after reading, without a word, the first time on
			// this connection.
			return false
		}
		_, _ = io.WriteString(w, okAnswer)
		return true
	})
	tr := transport(t, 0)
	warm := func() {
		if _, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	drop := netpolicy.Field{Name: "X-Drop", Value: "1"}
	for _, c := range []struct {
		method string
		key    bool
		ok     bool
	}{{http.MethodGet, false, true}, {http.MethodDelete, false, true}, {http.MethodPost, true, true}, {http.MethodPost, false, false}} {
		warm()
		before := s.requests.Load()
		fields := []netpolicy.Field{drop}
		if c.key {
			fields = append(fields, netpolicy.Field{Name: "Idempotency-Key", Value: "k1"})
		}
		_, err := tr.Exchange(context.Background(), exchange(c.method, s.url, 5*time.Second, fields...))
		sent := s.requests.Load() - before
		// Every attempt is dropped (X-Drop without X-Dropped): a retried
		// request is seen twice and still fails.
		wantSent := int64(1)
		if c.ok {
			wantSent = 2
		}
		if err == nil || sent != wantSent {
			t.Errorf("%s (key %v): sent %d times, err %v; want %d and an error", c.method, c.key, sent, err, wantSent)
		}
	}
}

// A field value that would split the header is refused before anything
// is sent.
func TestExchangeRefusesHeaderInjection(t *testing.T) {
	s := newRawServer(t, func(int64, *http.Request, io.Writer) bool { return true })
	tr := transport(t, 0)
	for _, v := range []string{"tok\r\nX-Evil: 1", "tok\n", "tok\x00", "tok\x7f"} {
		x := exchange(http.MethodGet, s.url, 5*time.Second)
		x.Header[0].Value = v
		if _, err := tr.Exchange(context.Background(), x); err == nil {
			t.Errorf("%q sent", v)
		}
	}
	if s.accepted.Load() != 0 {
		t.Fatalf("%d connections opened for refused requests", s.accepted.Load())
	}
}

// The deadline bounds an exchange the service never answers, and a
// cancelled context ends one at once; neither connection is reused.
func TestExchangeDeadlineAndCancel(t *testing.T) {
	got := make(chan struct{}, 4)
	s := newRawServer(t, func(_ int64, r *http.Request, w io.Writer) bool {
		if r.URL.Path == "/ok" {
			_, _ = io.WriteString(w, okAnswer)
			return true
		}
		got <- struct{}{}
		// Answer nothing until the client gives up and closes.
		_, _ = io.Copy(io.Discard, w.(net.Conn))
		return false
	})
	tr := transport(t, 0)
	start := time.Now()
	_, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 200*time.Millisecond))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Fatalf("unanswered exchange: %v after %v, want a timeout after 200ms", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; <-got; cancel() }()
	start = time.Now()
	if _, err := tr.Exchange(ctx, exchange(http.MethodGet, s.url, time.Minute)); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled exchange: %v after %v", err, time.Since(start))
	}
	u := *s.url
	u.Path = "/ok"
	if _, err := tr.Exchange(context.Background(), exchange(http.MethodGet, &u, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := s.accepted.Load(); n != 3 {
		t.Fatalf("%d connections, want 3 (no ended exchange's connection is reused)", n)
	}
}

// With one connection per host, a second exchange waits for the slot
// within its deadline; one that gives up leaves the slot to the next.
func TestExchangeWaitsForASlot(t *testing.T) {
	release := make(chan struct{})
	s := newRawServer(t, func(n int64, _ *http.Request, w io.Writer) bool {
		if n == 1 {
			<-release
		}
		_, _ = io.WriteString(w, okAnswer)
		return true
	})
	tr := transport(t, 1)
	first := make(chan error, 1)
	go func() {
		_, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 10*time.Second))
		first <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 100*time.Millisecond))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("second exchange while the only slot is held: %v, want a timeout", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Exchange(context.Background(), exchange(http.MethodGet, s.url, 5*time.Second)); err != nil {
		t.Fatalf("after the slot freed: %v", err)
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections with one per host, want 1", n)
	}
}
