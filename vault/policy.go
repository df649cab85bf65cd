package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrAddressNotAllowed means a service URL or the address it resolves to is
// refused by the address rules.
var ErrAddressNotAllowed = errors.New("address not allowed")

// AddressPolicy holds the address rules for custom credential services
// (SPEC §3): https is required except for loopback hosts and allowed hosts;
// when BlockPrivate is set (organization-configured services), connections
// to loopback, private, link-local, CGNAT and cloud-metadata addresses are
// refused in the dialer, on the resolved address, unless allowed.
type AddressPolicy struct {
	hosts        map[string]bool
	suffixes     []string
	nets         []netip.Prefix
	BlockPrivate bool
}

// NewAddressPolicy parses CREDVAULT_ALLOWED_HOSTS entries: host names
// (exact, or "*.example.com" for subdomains), IP addresses and CIDRs.
func NewAddressPolicy(allowed []string, blockPrivate bool) (AddressPolicy, error) {
	p := AddressPolicy{hosts: map[string]bool{}, BlockPrivate: blockPrivate}
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "":
		case strings.Contains(a, "/"):
			pfx, err := netip.ParsePrefix(a)
			if err != nil {
				return AddressPolicy{}, fmt.Errorf("CREDVAULT_ALLOWED_HOSTS: %q is not a valid CIDR", a)
			}
			p.nets = append(p.nets, pfx.Masked())
		case strings.HasPrefix(a, "*."):
			p.suffixes = append(p.suffixes, a[1:])
		default:
			if ip, err := netip.ParseAddr(strings.Trim(a, "[]")); err == nil {
				p.nets = append(p.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			}
			p.hosts[strings.Trim(a, "[]")] = true
		}
	}
	return p, nil
}

// WithBlockPrivate returns a copy of p with BlockPrivate set to block.
func (p AddressPolicy) WithBlockPrivate(block bool) AddressPolicy {
	p.BlockPrivate = block
	return p
}

func (p AddressPolicy) hostAllowed(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if p.hosts[host] {
		return true
	}
	for _, s := range p.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.ipAllowed(ip)
	}
	return false
}

func (p AddressPolicy) ipAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range p.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

var specialNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),         // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),     // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),      // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),     // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),       // reserved
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS metadata over IPv6
	netip.MustParsePrefix("64:ff9b::/96"),      // NAT64 can reach private IPv4
}

// blockedIP reports whether ip is loopback, private, link-local (which
// includes the 169.254.169.254 cloud-metadata address), CGNAT, unspecified,
// multicast or otherwise special.
func blockedIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	for _, n := range specialNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func isLoopbackHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckURL validates a service base URL and returns it parsed: absolute,
// https (http only for loopback or allowed hosts), no credentials, query
// or fragment. With BlockPrivate, an IP-literal host in a blocked range is
// refused here already; names are checked again when dialling.
func (p AddressPolicy) CheckURL(field, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, Invalid(field, "is required")
	}
	if len(raw) > 2048 {
		return nil, Invalid(field, "must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, Invalid(field, "must be an absolute URL such as https://credentials.example.com/api/v1/credentials")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(host) && !p.hostAllowed(host) {
			return nil, Invalid(field, "must use https:// (http:// is allowed only for loopback hosts or hosts in CREDVAULT_ALLOWED_HOSTS)")
		}
	default:
		return nil, Invalid(field, "must use https://")
	}
	if u.User != nil {
		return nil, Invalid(field, "must not contain credentials; put the token in api_token")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, Invalid(field, "must not contain a query string or fragment")
	}
	if p.BlockPrivate && !p.hostAllowed(host) {
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && blockedIP(ip) {
			return nil, Invalid(field, "points to a loopback, private, link-local or metadata address; add the host to CREDVAULT_ALLOWED_HOSTS to allow it")
		}
		if isLoopbackHost(host) {
			return nil, Invalid(field, "points to a loopback host; add it to CREDVAULT_ALLOWED_HOSTS to allow it")
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
	IP   netip.Addr
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%s resolves to %s, a loopback, private, link-local or metadata address (add the host to CREDVAULT_ALLOWED_HOSTS to allow it)", e.Host, e.IP)
}

// Is makes errors.Is(err, ErrAddressNotAllowed) true.
func (e *AddressError) Is(target error) bool { return target == ErrAddressNotAllowed }

// DialContext returns a dial function enforcing p: the check runs in the
// socket's Control hook on the address actually connected to, after DNS
// resolution, so a name that resolves to a private address cannot slip
// through.
func (p AddressPolicy) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if !p.BlockPrivate {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if p.hostAllowed(host) {
			return d.DialContext(ctx, network, addr)
		}
		guarded := *d
		guarded.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &AddressError{Host: host}
			}
			if blockedIP(ap.Addr()) && !p.ipAllowed(ap.Addr()) {
				return &AddressError{Host: host, IP: ap.Addr().Unmap()}
			}
			return nil
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// NewTransport returns the keep-alive transport shared by every Client of
// one policy. It ignores proxy environment variables, so the address rules
// apply to the service itself.
func NewTransport(p AddressPolicy) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           p.DialContext(d),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 0, // bounded by the per-request context
	}
}
