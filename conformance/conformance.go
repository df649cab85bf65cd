// Package conformance checks a custom credential service against the
// contract, with the same contract.Client credvault uses in production. It
// backs `credvault check-service`.
package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/wire"
)

// Status of one check.
type Status string

// Statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
)

// Result is one check's outcome. Detail never holds a secret.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Report is every result; OK is true when no required check failed.
type Report struct {
	URL     string   `json:"url"`
	OK      bool     `json:"ok"`
	Results []Result `json:"results"`
}

// Options tune Run.
type Options struct {
	// Policy holds the address rules (default: none but the scheme rule).
	Policy netpolicy.AddressPolicy
	// Timeout per request (default 10s).
	Timeout time.Duration
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Samples returns one credential of each type (password, credit_card,
// secret) with every field set and fresh random secrets: what a
// connection test round-trips.
func Samples() []vault.Credential { return samples() }

// samples returns one credential of each type with every field set.
func samples() []vault.Credential {
	s := vault.NewSecret
	return []vault.Credential{
		{Name: "credvault check password", Type: vault.TypePassword, Password: &vault.Password{
			Username: "check-" + random(4) + "@example.com", Password: s("pw-" + random(12)),
			TOTP: s("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator, Metadata: vault.Metadata{"purpose": "conformance"}}},
		{Name: "credvault check card", Type: vault.TypeCreditCard, CreditCard: &vault.CreditCard{
			CardHolderName: s("Check Holder"), CardNumber: s("4111111111111111"), ExpMonth: s("12"), ExpYear: s("2035"),
			CVV: s("123"), Brand: "visa",
			BillingAddress: &vault.BillingAddress{Line1: s("1 Check St"), Line2: s("Suite 2"), City: s("Springfield"),
				State: s("Illinois"), StateCode: s("IL"), PostalCode: s("62701"), Country: s("United States"), CountryCode: s("US")},
			BillingEmail: s("billing@example.com"), BillingPhone: s("+15555550100"), Metadata: vault.Metadata{"k": "v"}}},
		{Name: "credvault check secret", Type: vault.TypeSecret, Secret: &vault.SecretValue{
			Value: s("secret-" + random(12)), Label: "conformance"}},
	}
}

// Run exercises the service at baseURL with token.
func Run(ctx context.Context, baseURL string, token vault.Secret, opts Options) (rep Report) {
	rep.URL = baseURL
	add := func(check string, st Status, format string, args ...any) {
		rep.Results = append(rep.Results, Result{Check: check, Status: st, Detail: fmt.Sprintf(format, args...)})
	}
	defer func() {
		rep.OK = true
		for _, r := range rep.Results {
			if r.Status == Fail {
				rep.OK = false
			}
		}
	}()
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	u, err := opts.Policy.CheckURL("url", baseURL)
	if err != nil {
		add("base URL", Fail, "%v", err)
		return rep
	}
	transport := netpolicy.NewTransport(opts.Policy)
	defer transport.CloseIdleConnections()
	client, err := contract.New(u, token, contract.Options{Transport: transport, Timeout: opts.Timeout, MaxAttempts: 1})
	if err != nil {
		add("base URL", Fail, "%v", err)
		return rep
	}
	add("base URL", Pass, "%s", client.BaseURL())

	switch r := Probe(ctx, client); {
	case r.Err != nil:
		add("reachable", Fail, "%v", r.Err)
		return rep
	case r.Rejected:
		add("reachable", Fail, "GET of the base URL answered HTTP %d: the token was rejected", r.Status)
		return rep
	case r.Reachable:
		add("reachable", Pass, "GET of the base URL answered HTTP %d", r.Status)
	default:
		add("reachable", Fail, "GET of the base URL answered HTTP %d", r.Status)
		return rep
	}

	for _, sample := range samples() {
		checkType(ctx, client, sample, add)
	}

	// An unknown id is 404.
	if _, err := client.GetItem(ctx, "credvault-check-missing-"+random(6)); errors.Is(err, vault.ErrItemGone) {
		add("unknown id → 404", Pass, "")
	} else {
		add("unknown id → 404", Fail, "GET of an unknown id: %s", describe(err))
	}

	// A wrong token is refused.
	wrong, _ := contract.New(u, vault.NewSecret("credvault-check-wrong-"+random(8)), contract.Options{
		Transport: transport, Timeout: opts.Timeout, MaxAttempts: 1})
	_, err = wrong.GetItem(ctx, "credvault-check-missing-"+random(6))
	var ue *vault.UpstreamError
	if errors.As(err, &ue) && (ue.StatusCode == 401 || ue.StatusCode == 403) {
		add("wrong token → 401/403", Pass, "HTTP %d", ue.StatusCode)
	} else {
		add("wrong token → 401/403", Fail, "GET with a wrong token: %s", describe(err))
	}

	trailingSlash(ctx, client, u, token, transport, opts.Timeout, add)
	idempotency(ctx, client, add)
	return rep
}

// idempotency checks (as a warning only: the contract does not require it)
// whether the service honours Idempotency-Key: the same create sent twice
// with one key must store one item.
func idempotency(ctx context.Context, client *contract.Client, add func(string, Status, string, ...any)) {
	const check = "Idempotency-Key honoured (optional)"
	kctx := vault.WithIdempotencyKey(ctx, "credvault-check-"+random(12))
	sample := samples()[0]
	first, err := client.CreateItem(kctx, sample)
	if err != nil {
		add(check, Warn, "create with a key: %s", describe(err))
		return
	}
	defer func() { _ = client.DeleteItem(ctx, first) }()
	second, err := client.CreateItem(kctx, sample)
	switch {
	case err != nil:
		add(check, Warn, "the repeated create failed: %s", describe(err))
	case second != first:
		_ = client.DeleteItem(ctx, second)
		add(check, Warn, "the same create sent twice with one key stored two items: a create whose answer is lost may leave an orphan")
	default:
		add(check, Pass, "the repeated create returned the same item")
	}
}

func describe(err error) string {
	if err == nil {
		return "it succeeded"
	}
	if errors.Is(err, vault.ErrItemGone) {
		return "HTTP 404"
	}
	return err.Error()
}

func checkType(ctx context.Context, client *contract.Client, sample vault.Credential, add func(string, Status, string, ...any)) {
	t := string(sample.Type)
	// Only password is required: it is the one type every implementation
	// of the seed contract supports.
	missing := Warn
	if sample.Type == vault.TypePassword {
		missing = Fail
	}
	id, steps := RoundTrip(ctx, client, sample)
	for _, st := range steps {
		var ue *vault.UpstreamError
		switch {
		case st.Err == nil && st.Name == "create":
			add("create "+t, Pass, "id %s", id)
		case st.Err == nil && st.Name == "read back":
			add("read back "+t, Pass, "every field matches")
		case st.Err == nil:
			add(st.Name+" "+t, Pass, "")
		case st.Name == "create" && missing == Warn && errors.As(st.Err, &ue) && ue.StatusCode >= 400 && ue.StatusCode < 500:
			add("create "+t, Warn, "not supported by this service (%v)", st.Err)
			return
		case st.Name == "delete":
			add("delete "+t, Fail, "%v", st.Err)
			return
		case st.Name == "read back" && len(st.Fields) == 1 && st.Fields[0] == "metadata":
			// The seed's contract has no metadata: a service without it
			// is conformant.
			add("read back "+t, Warn, "metadata is not stored (optional: the seed's contract does not name it); every other field matches")
		case st.Name == "read back":
			add("read back "+t, missing, "%v", st.Err) // the delete and the read after it are still checked
		default:
			add(st.Name+" "+t, missing, "%v", st.Err)
			return
		}
	}
	if _, err := client.GetItem(ctx, id); errors.Is(err, vault.ErrItemGone) {
		add("read after delete "+t+" → 404", Pass, "")
	} else {
		add("read after delete "+t+" → 404", Fail, "GET after DELETE: %s", describe(err))
	}
}

// trailingSlash checks that POST {base}/ also creates an item. credvault
// itself strips the slash, so a failure is only a warning.
func trailingSlash(ctx context.Context, client *contract.Client, base *url.URL, token vault.Secret, rt http.RoundTripper,
	timeout time.Duration, add func(string, Status, string, ...any)) {
	const check = "trailing-slash base URL"
	body, _ := wire.Encode(samples()[0])
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, strings.TrimRight(base.String(), "/")+"/", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: rt, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Host != base.Host {
			return errors.New("redirect to another origin")
		}
		return nil
	}}
	resp, err := hc.Do(req)
	if err != nil {
		add(check, Warn, "POST %s/ failed; configure the URL without a trailing slash", base.Path)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, contract.MaxResponseBytes))
	var answer struct {
		ID json.RawMessage `json:"id"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, &answer) != nil || len(answer.ID) == 0 {
		add(check, Warn, "POST to the base URL with a trailing slash answered HTTP %d without an id; configure the URL without it", resp.StatusCode)
		return
	}
	var id string
	if json.Unmarshal(answer.ID, &id) != nil {
		id = string(answer.ID)
	}
	_ = client.DeleteItem(ctx, id)
	add(check, Pass, "")
}

// Print writes one line per check.
func (r Report) Print(w io.Writer) {
	for _, res := range r.Results {
		line := fmt.Sprintf("%-4s  %s", strings.ToUpper(string(res.Status)), res.Check)
		if res.Detail != "" {
			line += " — " + res.Detail
		}
		fmt.Fprintln(w, line)
	}
	if r.OK {
		fmt.Fprintln(w, "conforms: every required check passed")
	} else {
		fmt.Fprintln(w, "does not conform: see the FAIL lines above")
	}
}
