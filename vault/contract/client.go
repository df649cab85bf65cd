// Package contract is the HTTP client of the custom credential service
// contract (POST {base} → {"id"}, GET and DELETE {base}/{id}, "Authorization:
// Bearer {token}", JSON): one Client per service base URL and token, with
// retries of idempotent requests, a 1 MiB answer cap, same-origin redirects
// only, Idempotency-Key on creates, and every secret redacted from errors.
// Metrics instruments any vault.CredentialVault.
package contract

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/wire"
)

// MaxResponseBytes caps every body read from a custom credential service.
const MaxResponseBytes = 1 << 20

// DefaultTimeout bounds each request when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// opProbe names the connection test's GET of the base URL.
const opProbe = "connection test"

// Options tune a Client.
type Options struct {
	// Transport is the shared keep-alive transport (netpolicy.NewTransport). Nil
	// uses a transport without private-address blocking.
	Transport http.RoundTripper
	// HTTP, when set, is the http.Client (NewHTTPClient over Transport)
	// the owner shares among its Clients; nil makes one for this Client.
	HTTP *http.Client
	// Timeout bounds each attempt (CUSTOM_CREDENTIAL_TIMEOUT).
	Timeout time.Duration
	// MaxAttempts for GET and DELETE (default 3). POST is never retried:
	// it is not idempotent.
	MaxAttempts int
	// Backoff is the first retry delay, doubled each time up to 2s
	// (default 200ms).
	Backoff time.Duration
	// Source is recorded in ItemRef.Source.
	Source string
}

// Client is the custom credential service contract for one base URL and
// token. It implements CredentialVault (the organization id is ignored).
type Client struct {
	base *url.URL
	// bearer is the Authorization value, "Bearer " and the token, made
	// once (the token is its tail); baseEscaped is the base URL's escaped
	// path.
	bearer      vault.Secret
	baseEscaped string
	http        *http.Client
	// direct is http's transport when it is a netpolicy.Transport (every
	// owner's): requests then take its direct path (doDirect).
	direct      *netpolicy.Transport
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	source      string
	// idempotent is set once the service has shown it honours
	// Idempotency-Key (wire.IdempotentReplayedHeader on a create answer).
	idempotent atomic.Bool
	// peerNotAfter is when the certificate the service last presented
	// expires (Unix seconds; 0 before any HTTPS answer).
	peerNotAfter atomic.Int64
}

// PeerCertificateExpiry is when the certificate the service last
// presented expires (false before any HTTPS answer).
func (c *Client) PeerCertificateExpiry() (time.Time, bool) {
	n := c.peerNotAfter.Load()
	return time.Unix(n, 0).UTC(), n != 0
}

// HonoursIdempotency reports whether the service has answered a create
// with wire.IdempotentReplayedHeader.
func (c *Client) HonoursIdempotency() bool { return c.idempotent.Load() }

var defaultTransport = netpolicy.NewTransport(netpolicy.AddressPolicy{})

// NewClient returns a Client for base, which must already satisfy the
// address rules (netpolicy.AddressPolicy.CheckURL).
func New(base *url.URL, token vault.Secret, opts Options) (*Client, error) {
	if base == nil || base.Host == "" {
		return nil, problem.Invalid("api_base_url", "is required")
	}
	if token.IsZero() {
		return nil, problem.Invalid("api_token", "is required")
	}
	if opts.Transport == nil {
		opts.Transport = defaultTransport
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	b := *base
	b.Path = strings.TrimRight(b.Path, "/")
	b.RawPath = strings.TrimRight(b.RawPath, "/")
	c := &Client{base: &b, bearer: vault.NewSecret("Bearer " + token.Reveal()), baseEscaped: b.EscapedPath(),
		timeout: opts.Timeout, maxAttempts: opts.MaxAttempts, backoff: opts.Backoff, source: opts.Source}
	c.http = opts.HTTP
	if c.http == nil {
		c.http = NewHTTPClient(opts.Transport)
	}
	c.direct, _ = c.http.Transport.(*netpolicy.Transport)
	return c, nil
}

// NewHTTPClient returns the http.Client that Clients over t share (pass
// it as Options.HTTP): a process may hold a Client for each of thousands
// of configurations, differing only in base URL and token. Redirects are
// refused (a service must answer, not send the token elsewhere).
func NewHTTPClient(t http.RoundTripper) *http.Client {
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// Source is the configuration this client stands for.
func (c *Client) Source() string { return c.source }

// BaseURL returns the service's base URL (it never holds credentials).
func (c *Client) BaseURL() string { return c.base.String() }

var errCrossOriginRedirect = errors.New("redirect to another origin refused")

// checkRedirect follows redirects only within the origin of the first
// request (always the base URL's), so the token never travels elsewhere.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host) {
		return errCrossOriginRedirect
	}
	return nil
}

// Create implements CredentialVault.
func (c *Client) Create(ctx context.Context, _ string, cred vault.Credential) (vault.ItemRef, error) {
	id, err := c.CreateItem(ctx, cred)
	return vault.ItemRef{ID: id, Source: c.source}, err
}

// Get implements CredentialVault. A ref stored by another configuration is
// refused.
func (c *Client) Get(ctx context.Context, _ string, ref vault.ItemRef) (vault.Credential, error) {
	if err := c.owns(ref); err != nil {
		return vault.Credential{}, err
	}
	return c.GetItem(ctx, ref.ID)
}

// Delete implements CredentialVault. A ref stored by another configuration
// is refused.
func (c *Client) Delete(ctx context.Context, _ string, ref vault.ItemRef) error {
	if err := c.owns(ref); err != nil {
		return err
	}
	return c.DeleteItem(ctx, ref.ID)
}

func (c *Client) owns(ref vault.ItemRef) error {
	if ref.Source != c.source {
		return &vault.SourceUnavailableError{Source: ref.Source, Reason: "this vault serves another configuration"}
	}
	return nil
}

// CreateItem POSTs cred to the base URL and returns the service's id.
func (c *Client) CreateItem(ctx context.Context, cred vault.Credential) (string, error) {
	body, err := wire.Encode(cred)
	if err != nil {
		return "", err
	}
	r, err := c.do(ctx, "create", http.MethodPost, c.base, body, secretsOf(cred))
	if key := vault.IdempotencyKey(ctx); key != "" && errors.Is(err, vault.ErrTimeout) && c.idempotent.Load() {
		// The answer was lost, but the service honours the key: sending
		// the same create again returns the item it may have stored.
		r, err = c.do(ctx, "create", http.MethodPost, c.base, body, secretsOf(cred))
	}
	if err != nil {
		return "", err
	}
	if !r.ok() {
		return "", c.statusError("create", r, secretsOf(cred))
	}
	var answer struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(r.body, &answer); err != nil {
		return "", &vault.ContractError{Op: "create", Problem: "the answer is not a JSON object"}
	}
	id, err := parseID(answer.ID)
	if err != nil {
		return "", &vault.ContractError{Op: "create", Problem: err.Error()}
	}
	return id, nil
}

// parseID accepts a non-empty string or a number as the item id.
func parseID(raw json.RawMessage) (string, error) {
	var id string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", errors.New(`the answer has no "id"`)
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", errors.New(`"id" is not a valid string`)
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", errors.New(`"id" must be a string or a number`)
		}
		id = n.String()
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	return id, nil
}

func checkID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return errors.New(`"id" is empty`)
	case len(id) > 512:
		return errors.New(`"id" is longer than 512 bytes`)
	case id == "." || id == "..":
		return errors.New(`"id" may not be "." or ".."`)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return errors.New(`"id" contains control characters`)
	}
	return nil
}

// GetItem reads the item with id.
func (c *Client) GetItem(ctx context.Context, id string) (vault.Credential, error) {
	u, err := c.itemURL(id)
	if err != nil {
		return vault.Credential{}, err
	}
	r, err := c.do(ctx, "get", http.MethodGet, u, nil, nil)
	if err != nil {
		return vault.Credential{}, err
	}
	switch {
	case r.status == http.StatusNotFound:
		return vault.Credential{}, vault.ErrItemGone
	case !r.ok():
		return vault.Credential{}, c.statusError("get", r, nil)
	}
	return wire.Decode(r.body)
}

// DeleteItem deletes the item with id. Any 2xx answer, with any body, is
// success; 404 is ErrNotFound.
func (c *Client) DeleteItem(ctx context.Context, id string) error {
	u, err := c.itemURL(id)
	if err != nil {
		return err
	}
	r, err := c.do(ctx, "delete", http.MethodDelete, u, nil, nil)
	if err != nil {
		return err
	}
	switch {
	case r.status == http.StatusNotFound:
		return vault.ErrItemGone
	case !r.ok():
		return c.statusError("delete", r, nil)
	}
	return nil
}

// Probe GETs the base URL with the token once (no retry) and returns the
// status code: the contract's connection test.
func (c *Client) Probe(ctx context.Context) (int, error) {
	r, err := c.doOnce(ctx, opProbe, http.MethodGet, c.base, nil, nil)
	return r.status, err
}

// itemURL is {base}/{id} with id path-escaped, so an id such as "../x" or
// "a/b" stays one path segment.
func (c *Client) itemURL(id string) (*url.URL, error) {
	if err := checkID(id); err != nil {
		return nil, problem.Invalid("credential_id", "%s", strings.ReplaceAll(err.Error(), `"id"`, "the item id"))
	}
	u := *c.base
	u.Path = c.base.Path + "/" + id
	u.RawPath = c.baseEscaped + "/" + url.PathEscape(id)
	return &u, nil
}

// reply is a service's answer: its status, its body (bounded) and its
// content type.
type reply struct {
	status      int
	body        []byte
	contentType string
}

func (r reply) ok() bool { return r.status >= 200 && r.status <= 299 }

func (c *Client) do(ctx context.Context, op, method string, u *url.URL, body []byte, secrets []string) (reply, error) {
	attempts := 1
	if method == http.MethodGet || method == http.MethodDelete {
		attempts = c.maxAttempts
	}
	delay := c.backoff
	for attempt := 1; ; attempt++ {
		r, err := c.doOnce(ctx, op, method, u, body, secrets)
		retryable := (err != nil && isRetryableNetErr(err)) || (err == nil && r.status >= 500)
		if !retryable || attempt >= attempts {
			return r, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return reply{}, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func (c *Client) doOnce(ctx context.Context, op, method string, u *url.URL, body []byte, secrets []string) (reply, error) {
	if c.direct != nil {
		return c.doDirect(ctx, op, method, u, body)
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// The URL is already parsed (the base, checked when the client was
	// made, and an escaped id): it is set as it is rather than printed
	// and parsed again.
	req, err := http.NewRequestWithContext(actx, method, "", rd)
	if err != nil {
		return reply{}, &vault.UpstreamError{Op: op, Message: "invalid request"}
	}
	req.URL, req.Host = u, u.Host
	req.Header = http.Header{"Authorization": {c.bearer.Reveal()}, "Accept": acceptJSON, "User-Agent": userAgent}
	if method == http.MethodPost {
		if key := vault.IdempotencyKey(ctx); key != "" {
			req.Header.Set(wire.IdempotencyKeyHeader, key)
			if recovering(ctx) {
				req.Header.Set(wire.IdempotencyRecoverHeader, "true")
			}
		}
	}
	if body != nil {
		req.Header["Content-Type"] = acceptJSON
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, ctx.Err()
		}
		return reply{}, c.transportError(op, err, actx)
	}
	defer resp.Body.Close()
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		c.peerNotAfter.Store(resp.TLS.PeerCertificates[0].NotAfter.Unix())
	}
	r := reply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if method == http.MethodPost && ok && resp.Header.Get(wire.IdempotentReplayedHeader) != "" {
		c.idempotent.Store(true)
	}
	if ok && (method == http.MethodDelete || op == opProbe) {
		// Only the status matters: a 2xx delete happened whatever its
		// body (however large, or cut off). Drain a bounded amount so the
		// connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBytes))
		return r, nil
	}
	b, err := readBody(resp)
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, ctx.Err()
		}
		return reply{}, c.transportError(op, err, actx)
	}
	if len(b) > MaxResponseBytes {
		if !ok {
			// An error answer: its status is what matters.
			r.body = b[:MaxResponseBytes]
			return r, nil
		}
		return r, &vault.ContractError{Op: op, Problem: "the answer is larger than 1 MiB"}
	}
	r.body = b
	return r, nil
}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 5

var errTooManyRedirects = errors.New("too many redirects")

// doDirect is doOnce over the transport's direct path
// (netpolicy.Transport.Exchange): the same request, written and read on
// this goroutine. Redirects are followed as the http.Client would
// (checkRedirect: within the origin, at most five).
func (c *Client) doDirect(ctx context.Context, op, method string, u *url.URL, body []byte) (reply, error) {
	var fields [6]netpolicy.Field
	hdr := append(fields[:0], netpolicy.Field{Name: "Authorization", Value: c.bearer.Reveal()},
		netpolicy.Field{Name: "Accept", Value: acceptJSON[0]}, netpolicy.Field{Name: "User-Agent", Value: userAgent[0]})
	if method == http.MethodPost {
		if key := vault.IdempotencyKey(ctx); key != "" {
			hdr = append(hdr, netpolicy.Field{Name: wire.IdempotencyKeyHeader, Value: key})
			if recovering(ctx) {
				hdr = append(hdr, netpolicy.Field{Name: wire.IdempotencyRecoverHeader, Value: "true"})
			}
		}
	}
	if body != nil {
		hdr = append(hdr, netpolicy.Field{Name: "Content-Type", Value: acceptJSON[0]})
	}
	x := netpolicy.Exchange{Method: method, URL: u, Header: hdr, Body: body,
		Deadline: time.Now().Add(c.timeout), MaxBody: MaxResponseBytes,
		StatusOnly: method == http.MethodDelete || op == opProbe}
	var a netpolicy.Answer
	for redirects := 0; ; redirects++ {
		var err error
		if a, err = c.direct.Exchange(ctx, &x); err != nil {
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			return reply{}, c.transportError(op, err, ctx)
		}
		loc := a.Header.Get("Location")
		if loc == "" || !redirectStatus(a.Status) {
			break
		}
		next, err := x.URL.Parse(loc)
		switch {
		case redirects >= maxRedirects:
			err = errTooManyRedirects
		case err != nil:
		case !strings.EqualFold(next.Scheme, u.Scheme) || !strings.EqualFold(next.Host, u.Host):
			err = errCrossOriginRedirect
		}
		if err != nil {
			return reply{}, c.transportError(op, err, ctx)
		}
		x.URL = next
		if a.Status != http.StatusTemporaryRedirect && a.Status != http.StatusPermanentRedirect {
			// 301, 302 and 303 are followed with a GET, without the body.
			x.Method, x.Body = http.MethodGet, nil
			x.Header = slices.DeleteFunc(x.Header, func(f netpolicy.Field) bool { return f.Name == "Content-Type" })
		}
	}
	if !a.PeerNotAfter.IsZero() {
		c.peerNotAfter.Store(a.PeerNotAfter.Unix())
	}
	r := reply{status: a.Status, contentType: a.Header.Get("Content-Type")}
	ok := r.ok()
	if x.Method == http.MethodPost && ok && a.Header.Get(wire.IdempotentReplayedHeader) != "" {
		c.idempotent.Store(true)
	}
	if ok && (x.Method == http.MethodDelete || op == opProbe) {
		// Only the status matters: a 2xx delete happened whatever its
		// body (however large, or cut off).
		return r, nil
	}
	if len(a.Body) > MaxResponseBytes {
		if !ok {
			// An error answer: its status is what matters.
			r.body = a.Body[:MaxResponseBytes]
			return r, nil
		}
		return r, &vault.ContractError{Op: op, Problem: "the answer is larger than 1 MiB"}
	}
	r.body = a.Body
	return r, nil
}

// redirectStatus reports the statuses an http.Client follows.
func redirectStatus(s int) bool {
	switch s {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// The constant request header values. Header values are only ever
// replaced or appended to (which copies a full slice), so requests share
// them.
var (
	acceptJSON = []string{"application/json"}
	userAgent  = []string{"credvault"}
)

// readBody reads an answer's body, at most MaxResponseBytes+1 bytes (one
// more tells an oversized answer): in one read of its declared length
// when it has one within the bound, else growing as it comes.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= MaxResponseBytes {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
}

// isRetryableNetErr reports a transport failure worth another attempt.
func isRetryableNetErr(err error) bool {
	var ue *vault.UpstreamError
	return errors.As(err, &ue) && ue.Retryable
}

// transportError turns a transport failure into a reason a person can act
// on. Timeouts are not retried: the caller's latency stays bounded by one
// timeout.
func (c *Client) transportError(op string, err error, actx context.Context) error {
	host := c.base.Hostname()
	var (
		dnsErr  *net.DNSError
		addrErr *netpolicy.AddressError
		certErr *tls.CertificateVerificationError
		uaErr   x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
		invErr  x509.CertificateInvalidError
		alert   tls.AlertError
	)
	up := &vault.UpstreamError{Op: op}
	switch {
	case errors.Is(actx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &vault.TimeoutError{Op: op, After: c.timeout}
	case errors.As(err, &addrErr):
		up.Message, up.Err, up.Unsent = addrErr.Error(), addrErr, true
	case errors.Is(err, errCrossOriginRedirect):
		up.Message = "the service redirected to another origin; refused so the token is not sent elsewhere"
	case errors.As(err, &dnsErr):
		up.Message = fmt.Sprintf("cannot resolve host %s", host)
		up.Retryable, up.Unsent, up.Unresolved = dnsErr.IsTemporary, true, true
	case errors.Is(err, syscall.ECONNREFUSED):
		up.Message = fmt.Sprintf("connection to %s refused", c.base.Host)
		up.Retryable, up.Unsent = true, true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		up.Message = fmt.Sprintf("connection to %s closed unexpectedly", c.base.Host)
		up.Retryable = true
	case errors.As(err, &uaErr) || (errors.As(err, &certErr) && errors.As(certErr.Err, &uaErr)):
		up.Message, up.Unsent = fmt.Sprintf("TLS certificate of %s is signed by an authority this configuration does not trust: "+
			"set ca_bundle to the CA certificate (PEM) that signed it", host), true
	case errors.As(err, &hostErr):
		up.Message, up.Unsent = fmt.Sprintf("TLS certificate of %s is not valid for that host name (check the URL's host, or the certificate's names)", host), true
	case errors.As(err, &invErr) && invErr.Reason == x509.Expired:
		up.Message, up.Unsent = fmt.Sprintf("TLS certificate of %s has expired or is not valid yet", host), true
	case errors.As(err, &certErr), errors.As(err, &invErr):
		up.Message, up.Unsent = fmt.Sprintf("TLS certificate of %s is not trusted", host), true
	case errors.As(err, &alert):
		up.Message, up.Unsent = tlsAlertMessage(host, alert, c.hasClientCertificate()), true
	case strings.Contains(err.Error(), "remote error: tls: "):
		// A TLS alert from the service (over TCP, crypto/tls reports it
		// only in words).
		up.Message, up.Unsent = tlsRemoteAlertMessage(host, err.Error(), c.hasClientCertificate()), true
	case errors.As(err, &recErr):
		up.Message, up.Unsent = fmt.Sprintf("TLS handshake with %s failed (is it serving plain HTTP?)", c.base.Host), true
	default:
		up.Message = fmt.Sprintf("request to %s failed", c.base.Host)
		up.Retryable = true
	}
	return up
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusError builds an UpstreamError from an error answer: the status
// and credvault's fixed description of it for the client; for the log,
// the answer's content type, length and at most its JSON "detail" or
// "message" when nothing of it could be a secret (vault.ServiceDetail).
func (c *Client) statusError(op string, r reply, secrets []string) error {
	all := append(append([]string{strings.TrimPrefix(c.bearer.Reveal(), "Bearer ")}, secrets...), wire.EchoedSecrets(r.body)...)
	ct := r.contentType
	if len(ct) > 64 {
		ct = ct[:64]
	}
	ans := &vault.ServiceAnswer{ContentType: vault.ServiceDetail(ct, all...), Length: len(r.body)}
	if msg := serviceMessage(r.body); msg != "" {
		ans.Detail = vault.ServiceDetail(msg, all...)
	}
	return &vault.UpstreamError{Op: op, StatusCode: r.status, Message: statusText(r.status), Answer: ans}
}

// statusText is credvault's own description of a service's error status.
func statusText(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "the service rejected the API token"
	case status == http.StatusTooManyRequests:
		return "the service is rate-limiting credvault"
	case status == http.StatusRequestEntityTooLarge:
		return "the service refused the request as too large"
	case status == http.StatusConflict:
		return "the service reported a conflict"
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return "the service refused the request as invalid"
	case status >= 500:
		return "the service failed"
	}
	return "the service refused the request"
}

// serviceMessage extracts the "detail" or "message" string of a JSON
// object error body ("" for anything else).
func serviceMessage(body []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	for _, k := range []string{"detail", "message"} {
		var s string
		if json.Unmarshal(obj[k], &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// secretsOf lists every secret value of cred, for redaction.
func secretsOf(cred vault.Credential) []string { return cred.SecretValues() }

// CurrentSource implements vault.CurrentSourcer.
func (c *Client) CurrentSource(context.Context, string) (string, error) { return c.source, nil }

// placeholder is what ReplayCreate sends: never a secret of anyone's.
var placeholder = vault.Credential{Name: "credvault reconcile placeholder", Type: vault.TypeSecret,
	Secret: &vault.SecretValue{Value: vault.NewSecret("credvault-reconcile-placeholder"), Label: "credvault reconcile"}}

// CreateAt implements SourceCreator for the one configuration c serves.
func (c *Client) CreateAt(ctx context.Context, orgID, source string, cred vault.Credential) (vault.ItemRef, error) {
	if err := c.owns(vault.ItemRef{Source: source}); err != nil {
		return vault.ItemRef{}, err
	}
	return c.Create(ctx, orgID, cred)
}

// ReplayCreate implements SourceCreator.
func (c *Client) ReplayCreate(ctx context.Context, orgID, source, key string) (vault.ItemRef, bool, error) {
	if err := c.owns(vault.ItemRef{Source: source}); err != nil {
		return vault.ItemRef{}, false, err
	}
	ref, err := c.Create(context.WithValue(vault.WithIdempotencyKey(ctx, key), recoverKey{}, true), orgID, placeholder)
	return ref, c.HonoursIdempotency(), err
}

type recoverKey struct{}

// recovering reports a create sent by ReplayCreate.
func recovering(ctx context.Context) bool { v, _ := ctx.Value(recoverKey{}).(bool); return v }

var (
	_ vault.CredentialVault = (*Client)(nil)
	_ vault.CurrentSourcer  = (*Client)(nil)
	_ vault.SourceCreator   = (*Client)(nil)
)

// tlsAlertMessage says what a service's TLS alert means for its
// configuration.
func tlsAlertMessage(host string, a tls.AlertError, haveCert bool) string {
	switch a {
	case 116: // certificate_required
		if haveCert {
			// crypto/tls sends no certificate the service's CAs did not sign.
			return fmt.Sprintf("the service at %s refused credvault's client certificate: it asks for one signed by another CA (check client_certificate)", host)
		}
		return fmt.Sprintf("the service at %s requires a client certificate: set client_certificate and client_key", host)
	case 42, 43, 44, 45, 46, 48: // bad, unsupported, revoked, expired, unknown certificate; unknown CA
		return fmt.Sprintf("the service at %s refused credvault's client certificate (TLS alert: %s)", host, a.Error())
	case 70: // protocol_version
		return fmt.Sprintf("the service at %s does not speak TLS 1.2 or newer", host)
	}
	return fmt.Sprintf("TLS handshake with %s failed (TLS alert: %s)", host, a.Error())
}

// tlsRemoteAlertMessage reads the alert crypto/tls reported as "remote
// error: tls: <description>".
func tlsRemoteAlertMessage(host, msg string, haveCert bool) string {
	for _, a := range []tls.AlertError{116, 42, 43, 44, 45, 46, 48, 70} {
		if strings.Contains(msg, "remote error: "+a.Error()) {
			return tlsAlertMessage(host, a, haveCert)
		}
	}
	return fmt.Sprintf("TLS handshake with %s failed (the service sent a TLS alert)", host)
}

// hasClientCertificate reports whether the client's transport presents a
// client certificate.
func (c *Client) hasClientCertificate() bool {
	t, ok := c.http.Transport.(*netpolicy.Transport)
	return ok && t.TLSClientConfig != nil && len(t.TLSClientConfig.Certificates) > 0
}
