// Package netpolicy decides which addresses a custom credential service
// may live at: the IANA special-purpose lists (code.dny.dev/ssrf) plus IPv4
// embedded in IPv6, an allowlist of hosts and addresses with optional
// ports, checked when a URL is saved (CheckURL) and again on every dial
// (the transport's dialer), so a name that resolves elsewhere later is
// still refused.
package netpolicy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
	"github.com/credvault/credvault/problem"
)

// ErrAddressNotAllowed means a service URL or the address it resolves to is
// refused by the address rules.
var ErrAddressNotAllowed = errors.New("address not allowed")

// allowEntry is one CREDVAULT_ALLOWED_HOSTS entry: a host name, a
// "*.domain" suffix, or an IP prefix, optionally limited to one port.
type allowEntry struct {
	host   string       // exact host name, lower-case
	suffix string       // ".example.com" for "*.example.com"
	prefix netip.Prefix // an IP (full-length prefix) or CIDR
	port   uint16       // 0: any port
}

func (e allowEntry) portOK(port uint16) bool { return e.port == 0 || e.port == port }

// AddressPolicy holds the address rules for custom credential services:
// https is required except for loopback hosts and allowed hosts; when
// BlockPrivate is set (organization-configured services), connections to
// loopback, private, link-local, CGNAT, cloud-metadata and every other
// special-purpose address (the IANA registries, as kept by
// code.dny.dev/ssrf, plus IPv4 embedded in IPv6 forms) are refused in the
// dialer, on the resolved address, unless allowed.
type AddressPolicy struct {
	allow        []allowEntry
	BlockPrivate bool
}

// NewAddressPolicy parses CREDVAULT_ALLOWED_HOSTS entries: host names
// (exact, or "*.example.com" for subdomains), IP addresses and CIDRs, each
// optionally with a port ("127.0.0.1:8081", "[::1]:8081",
// "creds.internal:8443"), which then allows that port only. Malformed and
// over-broad entries ("*", "*.com", "0.0.0.0/0", "host:port:x") are errors
// naming the entry.
func NewAddressPolicy(allowed []string, blockPrivate bool) (AddressPolicy, error) {
	p := AddressPolicy{BlockPrivate: blockPrivate}
	var errs []error
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			continue
		}
		e, err := parseAllowEntry(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q %s", envAllowedHosts, a, err.Error()))
			continue
		}
		p.allow = append(p.allow, e)
	}
	if err := errors.Join(errs...); err != nil {
		return AddressPolicy{}, err
	}
	return p, nil
}

// envAllowedHosts names the variable in errors (the vault package does not
// read the environment itself).
const envAllowedHosts = "CREDVAULT_ALLOWED_HOSTS"

func parseAllowEntry(a string) (allowEntry, error) {
	var e allowEntry
	if strings.Contains(a, "/") {
		pfx, err := netip.ParsePrefix(a)
		if err != nil {
			return e, errors.New("is not a valid CIDR (a CIDR entry takes no port)")
		}
		min := 8
		if pfx.Addr().Is6() && !pfx.Addr().Is4In6() {
			min = 16
		}
		if pfx.Bits() < min {
			return e, fmt.Errorf("is too broad: a CIDR must be /%d or narrower", min)
		}
		e.prefix = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-unmapShift(pfx.Addr())).Masked()
		return e, nil
	}
	host, port, err := splitAllowPort(a)
	if err != nil {
		return e, err
	}
	e.port = port
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		e.prefix = netip.PrefixFrom(ip, ip.BitLen())
		return e, nil
	}
	if strings.HasPrefix(host, "*.") {
		rest := host[2:]
		if !strings.Contains(rest, ".") {
			return e, errors.New("is too broad: a wildcard must name a domain with at least two labels, such as *.example.com")
		}
		if !validHostName(rest) {
			return e, errors.New("is not a valid host name, IP address or CIDR")
		}
		e.suffix = "." + rest
		return e, nil
	}
	if !validHostName(host) {
		return e, errors.New("is not a valid host name, IP address or CIDR")
	}
	e.host = host
	return e, nil
}

// unmapShift is how many prefix bits an IPv4-mapped CIDR loses when
// unmapped.
func unmapShift(ip netip.Addr) int {
	if ip.Is4In6() {
		return 96
	}
	return 0
}

// splitAllowPort splits "host", "host:port", "[v6]", "[v6]:port" or a bare
// IPv6 address.
func splitAllowPort(a string) (string, uint16, error) {
	bad := errors.New("is not host, host:port, [IPv6]:port, an IP address or a CIDR")
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]")
		if end < 0 {
			return "", 0, bad
		}
		host, rest := a[1:end], a[end+1:]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", 0, bad
		}
		if rest == "" {
			return host, 0, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, bad
		}
		port, err := parsePort(rest[1:])
		return host, port, err
	}
	switch strings.Count(a, ":") {
	case 0:
		return a, 0, nil
	case 1:
		host, ps, _ := strings.Cut(a, ":")
		port, err := parsePort(ps)
		if host == "" {
			return "", 0, bad
		}
		return host, port, err
	}
	if _, err := netip.ParseAddr(a); err == nil {
		return a, 0, nil
	}
	return "", 0, bad
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("has a port that is not a number from 1 to 65535")
	}
	return uint16(n), nil
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// WithBlockPrivate returns a copy of p with BlockPrivate set to block.
func (p AddressPolicy) WithBlockPrivate(block bool) AddressPolicy {
	p.BlockPrivate = block
	return p
}

// hostAllowed reports whether the URL host (a name or an IP literal) at
// port is allowed by an entry.
func (p AddressPolicy) hostAllowed(host string, port uint16) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.ipAllowed(ip, port)
	}
	for _, e := range p.allow {
		if !e.portOK(port) {
			continue
		}
		if (e.host != "" && e.host == host) || (e.suffix != "" && strings.HasSuffix(host, e.suffix)) {
			return true
		}
	}
	return false
}

func (p AddressPolicy) ipAllowed(ip netip.Addr, port uint16) bool {
	ip = ip.Unmap()
	for _, e := range p.allow {
		if e.prefix.IsValid() && e.portOK(port) && e.prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// loopbackAllowed reports whether a loopback address is allowed at port,
// which is what a "localhost" URL resolves to.
func (p AddressPolicy) loopbackAllowed(port uint16) bool {
	return p.ipAllowed(netip.MustParseAddr("127.0.0.1"), port) || p.ipAllowed(netip.IPv6Loopback(), port)
}

// guardian holds the IANA special-purpose registries (code.dny.dev/ssrf):
// every IPv4 special-purpose block, and everything outside IPv6 global
// unicast (which covers IPv4-mapped, IPv4-compatible, NAT64, ULA,
// link-local and site-local) plus the special blocks inside it (Teredo,
// 6to4, documentation).
var guardian = ssrf.New(ssrf.WithAnyPort())

// Blocked reports whether ip is an address an organization-configured
// service may not be reached at: loopback, private, link-local (including
// the 169.254.169.254 cloud-metadata address), CGNAT, multicast,
// unspecified or any other special-purpose address, or an IPv6 address
// embedding an IPv4 address that is blocked.
func Blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || guardian.SafeAddr(ip) != nil {
		return true
	}
	if v4, ok := EmbeddedIPv4(ip); ok && guardian.SafeAddr(v4) != nil {
		return true
	}
	return false
}

// EmbeddedIPv4 decodes the IPv4 address carried by an IPv6 transition
// form: IPv4-mapped and IPv4-compatible (::/96), SIIT (::ffff:0:0:0/96),
// NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), 6to4
// (2002::/16) and Teredo (2001::/32, client address inverted).
func EmbeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if ip.Is4() {
		return ip, true
	}
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	b := ip.As16()
	last4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	zero := func(bs []byte) bool {
		for _, x := range bs {
			if x != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(b[:12]): // IPv4-compatible
		return last4, true
	case zero(b[:8]) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // SIIT
		return last4, true
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b: // NAT64, well-known and local-use
		if zero(b[4:12]) {
			return last4, true
		}
		if b[4] == 0 && b[5] == 1 {
			// RFC 6052 /48: the IPv4 address straddles bit 64 (u octet).
			return netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}), true
		}
	case b[0] == 0x20 && b[1] == 0x02: // 6to4
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0: // Teredo
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

// localhostName reports "localhost" or a name under it (RFC 6761), in any
// case, with or without the root's trailing dot.
func localhostName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// loopbackLiteral rewrites a "host:port" whose host is a localhost name to
// 127.0.0.1:port, so dialling it needs no lookup.
func loopbackLiteral(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !localhostName(host) {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func isLoopbackHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if localhostName(host) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// urlPort is the URL's port, or the scheme's default.
func urlPort(u *url.URL) uint16 {
	if ps := u.Port(); ps != "" {
		if n, err := strconv.Atoi(ps); err == nil && n > 0 && n <= 65535 {
			return uint16(n)
		}
		return 0
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// CheckURL validates a service base URL and returns it parsed: absolute,
// https (http only for loopback or allowed hosts), no credentials, query
// or fragment. With BlockPrivate, an IP-literal host in a blocked range is
// refused here already; names are checked again when dialling.
func (p AddressPolicy) CheckURL(field, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, problem.Invalid(field, "is required")
	}
	if len(raw) > 2048 {
		return nil, problem.Invalid(field, "must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, problem.Invalid(field, "must be an absolute URL such as https://credentials.example.com/api/v1/credentials")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := u.Hostname()
	if endsInNumber(host) {
		return nil, problem.Invalid(field, "has a host that looks like a number but is not an IP address in dotted form "+
			"(such as 127.1, 2130706433 or 0x7f.0.0.1, which resolvers read differently): write the address as four decimal numbers, such as 127.0.0.1, or use a host name")
	}
	port := urlPort(u)
	if port == 0 {
		return nil, problem.Invalid(field, "has an invalid port")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(host) && !p.hostAllowed(host, port) {
			return nil, problem.Invalid(field, "must use https:// (http:// is allowed only for loopback hosts or hosts in CREDVAULT_ALLOWED_HOSTS)")
		}
	default:
		return nil, problem.Invalid(field, "must use https://")
	}
	if u.User != nil {
		return nil, problem.Invalid(field, "must not contain credentials; put the token in api_token")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, problem.Invalid(field, "must not contain a query string or fragment")
	}
	if p.BlockPrivate && !p.hostAllowed(host, port) {
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && Blocked(ip) {
			return nil, problem.Invalid(field, "points to a loopback, private, link-local, metadata or other special-purpose address; "+
				"add %s to CREDVAULT_ALLOWED_HOSTS to allow it", hostPort(host, port))
		}
		if isLoopbackHost(host) && !p.loopbackAllowed(port) {
			return nil, problem.Invalid(field, "points to a loopback host; add %s to CREDVAULT_ALLOWED_HOSTS to allow it", hostPort("127.0.0.1", port))
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// AddressError is a refused dial: the resolved address is in a blocked
// range.
type AddressError struct {
	Host string
	// Port is the port dialled (0 when unknown).
	Port uint16
	IP   netip.Addr
}

// hostPort is host:port as a CREDVAULT_ALLOWED_HOSTS entry names it (an
// IPv6 address in brackets).
func hostPort(host string, port uint16) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(int(port)))
}

// Error does not say which address the host resolved to: an internal
// name's address is not the caller's business. LogValue has it.
func (e *AddressError) Error() string {
	allow := e.Host
	if e.Port != 0 {
		allow = hostPort(e.Host, e.Port)
	}
	return fmt.Sprintf("%s resolves to a loopback, private, link-local, metadata or other special-purpose address (add %s to CREDVAULT_ALLOWED_HOSTS to allow it)", e.Host, allow)
}

// LogValue includes the resolved address, for operators.
func (e *AddressError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", e.Host), slog.String("resolved", e.IP.String()))
}

// Is makes errors.Is(err, ErrAddressNotAllowed) true.
func (e *AddressError) Is(target error) bool { return target == ErrAddressNotAllowed }

// DialContext returns a dial function enforcing p: the check runs in the
// socket's Control hook on the address actually connected to, after DNS
// resolution, so a name that resolves to a private address cannot slip
// through.
//
// "localhost" and every "*.localhost" name are loopback (RFC 6761): they
// are dialled at 127.0.0.1 without any lookup, so no DNS query ever leaves
// for them.
func (p AddressPolicy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if !p.BlockPrivate {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, loopbackLiteral(addr))
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, ps, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		addr = loopbackLiteral(addr)
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return nil, &AddressError{Host: host}
		}
		port := uint16(n)
		if p.hostAllowed(host, port) {
			return d.DialContext(ctx, network, addr)
		}
		guarded := *d
		guarded.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &AddressError{Host: host}
			}
			return p.CheckDial(host, ap)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// CheckDial is the dialer's rule for a connection to host (as named in the
// URL) at the resolved address ap: allowed when the host or the address is
// in the allowlist at that port, or the address is not Blocked.
func (p AddressPolicy) CheckDial(host string, ap netip.AddrPort) error {
	if !p.BlockPrivate || p.hostAllowed(host, ap.Port()) {
		return nil
	}
	if Blocked(ap.Addr()) && !p.ipAllowed(ap.Addr(), ap.Port()) {
		return &AddressError{Host: host, Port: ap.Port(), IP: ap.Addr().Unmap()}
	}
	return nil
}

// Transport is one owner's keep-alive transport to credential services:
// an http.Transport that counts the connections it opens
// (credvault_upstream_connections_opened_total sums its owners'), and the
// direct path (Exchange) over the same dialer, trust and limits.
type Transport struct {
	*http.Transport
	opened atomic.Uint64
	// perHost caps each host's connections on the direct path; h1TLS is
	// the TLS configuration, offering HTTP/1.1 only.
	perHost int
	h1TLS   *tls.Config
	pool    directPool
}

// ConnectionsOpened is how many connections t has opened.
func (t *Transport) ConnectionsOpened() uint64 { return t.opened.Load() }

// DefaultConnsPerHost caps the connections — so the requests in flight —
// to one service host (CREDVAULT_UPSTREAM_CONNS_PER_HOST): one
// organization cannot exhaust credvault's file descriptors, nor flood a
// service (the operator's env service, shared by every organization
// without its own). Requests beyond it wait for a connection, within their
// timeout.
const DefaultConnsPerHost = 128

// Transport sizing: one process may serve thousands of organizations, each
// with its own service host; idle connections are kept for all of them so
// steady traffic reuses connections (and TLS sessions) instead of opening
// new ones, and idle ones close after IdleConnTimeout. Every connection a
// host may have can stay idle, so a busy host never closes one only to
// reopen it: the idle pool per host is the in-flight cap.
const (
	maxIdleConns    = 16384
	idleConnTimeout = 90 * time.Second
)

// NewTransport returns the keep-alive transport shared by every Client of
// one policy, with DefaultConnsPerHost. It ignores proxy environment
// variables, so the address rules apply to the service itself.
func NewTransport(p AddressPolicy) *Transport { return NewSizedTransport(p, 0) }

// NewSizedTransport is NewTransport with at most connsPerHost connections
// per service host, all of which may stay idle (0: DefaultConnsPerHost).
func NewSizedTransport(p AddressPolicy, connsPerHost int) *Transport {
	t, _ := NewTLSTransport(p, connsPerHost, TLSOptions{})
	return t
}

// NewTLSTransport is NewSizedTransport for a service with its own trust
// (a CA bundle, a client certificate); an error names the bad option.
func NewTLSTransport(p AddressPolicy, connsPerHost int, o TLSOptions) (*Transport, error) {
	tlsConfig, err := o.ClientConfig()
	if err != nil {
		return nil, err
	}
	if connsPerHost <= 0 {
		connsPerHost = DefaultConnsPerHost
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := p.DialContext(d)
	t := &Transport{perHost: connsPerHost, h1TLS: &tls.Config{}}
	if tlsConfig != nil {
		t.h1TLS = tlsConfig.Clone()
	}
	t.h1TLS.NextProtos = []string{"http/1.1"}
	t.Transport = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err == nil {
				t.opened.Add(1)
			}
			return c, err
		},
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   connsPerHost,
		MaxConnsPerHost:       connsPerHost,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // bounded by the per-request context
	}
	return t, nil
}

// endsInNumber reports a host that is not an IP literal but whose last
// label is a number (decimal, or 0x hexadecimal): the forms the WHATWG URL
// parser and inet_aton read as an IPv4 address (127.1, 2130706433,
// 0x7f.1, 0177.0.0.1) and DNS does not. Such a name is never sent to a
// resolver.
func endsInNumber(host string) bool {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return false
	}
	h := strings.TrimSuffix(host, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
