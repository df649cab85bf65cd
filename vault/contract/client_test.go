package contract_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/vaulttest"
	"github.com/credvault/credvault/vault/wire"
)

func TestClientHonoursContract(t *testing.T) {
	t.Parallel()
	svc := fakeservice.New(t, vaulttest.Token)
	for _, base := range []string{svc.Base(), svc.Base() + "/"} {
		c := vaulttest.Client(t, base, contract.Options{Source: "env"})
		for _, cred := range []vault.Credential{vaulttest.Password(), vaulttest.Card(), vaulttest.Secret()} {
			t.Run(string(cred.Type)+" "+base, func(t *testing.T) {
				if err := cred.Validate(); err != nil {
					t.Fatal(err)
				}
				ref, err := c.Create(context.Background(), "org_x", cred)
				if err != nil {
					t.Fatal(err)
				}
				if ref.ID == "" || ref.Source != "env" {
					t.Fatalf("ref = %+v", ref)
				}
				body := svc.LastBody()
				if body["name"] != cred.Name || body["type"] != string(cred.Type) {
					t.Fatalf("wire body name/type = %v/%v", body["name"], body["type"])
				}
				if _, ok := body["totp_identifier"]; ok {
					t.Fatal("totp_identifier was sent to the service")
				}
				for k, v := range body {
					if v == "" || v == nil {
						t.Fatalf("unset optional %q sent", k)
					}
				}
				got, err := c.Get(context.Background(), "org_x", ref)
				if err != nil {
					t.Fatal(err)
				}
				if !wire.SameFields(got, cred) {
					t.Fatal("read-back credential differs from what was created")
				}
				if err := c.Delete(context.Background(), "org_x", ref); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Get(context.Background(), "org_x", ref); !errors.Is(err, vault.ErrItemGone) {
					t.Fatalf("get after delete: %v, want ErrNotFound", err)
				}
				if err := c.Delete(context.Background(), "org_x", ref); !errors.Is(err, vault.ErrItemGone) {
					t.Fatalf("delete after delete: %v, want ErrNotFound", err)
				}
			})
		}
	}
}

func TestWirePayloadShape(t *testing.T) {
	t.Parallel()
	c := vaulttest.Password()
	c.Password.TOTP = vault.Secret{}
	c.Password.TOTPType = ""
	c.Password.Metadata = nil
	b, err := wire.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"Bank","type":"password","username":"alice@example.com","password":"` + vaulttest.PasswordValue + `","totp_type":"none"}`
	if string(b) != want {
		t.Fatalf("wire = %s\nwant   %s", vaulttest.Scrub(string(b)), vaulttest.Scrub(want))
	}
}

func TestDecodeAcceptsExtraFieldsAndNulls(t *testing.T) {
	t.Parallel()
	c, err := wire.Decode([]byte(`{"type":"credit_card","card_holder_name":"A","card_number":"4111111111111111",
		"card_exp_month":7,"card_exp_year":2030,"card_cvv":"123","card_brand":null,"billing_address":null,
		"billing_email":null,"extra":{"x":1},"id":"abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.CreditCard.ExpMonth.Reveal() != "7" || c.CreditCard.BillingAddress != nil {
		t.Fatalf("decoded %+v", c.CreditCard.ExpMonth.Reveal())
	}
}

// captureLogs returns a logger and the buffer it writes to.
func captureLogs() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestClientContractBreaches(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int64
	var otherAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`{"id":"stolen"}`))
	}))
	t.Cleanup(other.Close)

	type op int
	const (
		create op = iota
		get
		del
	)
	cases := []struct {
		name     string
		op       op
		id       string
		handler  http.HandlerFunc
		wantErr  error
		wantText string
		// wantDetail is the service's words kept for the log ("" for none).
		wantDetail string
		attempts   int64 // requests the server should see; 0 = don't check
	}{
		{name: "no id", op: create, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) },
			wantErr: vault.ErrContractViolation, wantText: `no "id"`},
		{name: "empty id", op: create, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":""}`)) },
			wantErr: vault.ErrContractViolation, wantText: `empty`},
		{name: "dot-dot id", op: create, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":".."}`)) },
			wantErr: vault.ErrContractViolation},
		{name: "non-JSON create", op: create, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`<html>ok</html>`)) },
			wantErr: vault.ErrContractViolation, wantText: "not a JSON object"},
		{name: "non-JSON get", op: get, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`nope`)) },
			wantErr: vault.ErrContractViolation, wantText: "not a JSON object"},
		{name: "unknown type", op: get, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"type":"bogus"}`)) },
			wantErr: vault.ErrContractViolation, wantText: `field "type" is not one of`},
		{name: "missing type", op: get, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"username":"u"}`)) },
			wantErr: vault.ErrContractViolation, wantText: `"type" is missing`},
		{name: "missing field", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"type":"password","username":"u"}`))
		}, wantErr: vault.ErrContractViolation, wantText: `"password" is missing`},
		{name: "wrong JSON type", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"type":"password","username":"u","password":{"x":1}}`))
		}, wantErr: vault.ErrContractViolation},
		{name: "500 on get is retried", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write([]byte(`{"detail":"db down"}`))
		}, wantErr: vault.ErrUpstream, wantText: "HTTP 500 on get: the service failed", wantDetail: "db down", attempts: 3},
		{name: "500 on create is not retried", op: create, handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
		}, wantErr: vault.ErrUpstream, wantText: "HTTP 500", attempts: 1},
		{name: "401 is not retried", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			w.Write([]byte(`{"detail":"bad vaulttest.Token ` + vaulttest.Token + `"}`))
		}, wantErr: vault.ErrUpstream, wantText: "HTTP 401 on get: the service rejected the API token", attempts: 1},
		{name: "service echoes the secret", op: create, handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(422)
			w.Write([]byte(`{"detail":"password ` + vaulttest.PasswordValue + ` too weak"}`))
		}, wantErr: vault.ErrUpstream, wantText: "HTTP 422 on create: the service refused the request as invalid"},
		{name: "slow beyond the timeout", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, wantErr: vault.ErrTimeout, wantText: "within", attempts: 1},
		{name: "oversized body", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"type":"secret","secret_value":"`))
			w.Write(bytes.Repeat([]byte("a"), contract.MaxResponseBytes))
			w.Write([]byte(`"}`))
		}, wantErr: vault.ErrContractViolation, wantText: "larger than 1 MiB"},
		{name: "404 on get", op: get, handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) },
			wantErr: vault.ErrItemGone},
		{name: "redirect to another origin", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		}, wantErr: vault.ErrUpstream, wantText: "another origin"},
		{name: "same-origin redirect is followed", op: get, handler: func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/moved") {
				w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
				return
			}
			http.Redirect(w, r, r.URL.Path+"/moved", http.StatusFound)
		}},
		{name: "id with slashes stays one segment", op: get, id: "../admin/x", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.EscapedPath() != "/api/v1/credentials/..%2Fadmin%2Fx" {
				w.WriteHeader(400)
				fmt.Fprintf(w, `{"detail":"path was %s"}`, r.URL.EscapedPath())
				return
			}
			w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
		}},
		{name: "numeric id accepted", op: create, handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":12345}`)) }},
		{name: "delete with empty 200", op: del, handler: func(w http.ResponseWriter, r *http.Request) {}},
		{name: "delete 204", op: del, handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }},
	}
	log, logs := captureLogs()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Header.Get("Authorization") != "Bearer "+vaulttest.Token {
					w.WriteHeader(401)
					return
				}
				tc.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			c := vaulttest.Client(t, srv.URL+"/api/v1/credentials", contract.Options{Timeout: 300 * time.Millisecond})
			id := tc.id
			if id == "" {
				id = "item1"
			}
			var err error
			switch tc.op {
			case create:
				_, err = c.Create(context.Background(), "o", vaulttest.Password())
			case get:
				_, err = c.Get(context.Background(), "o", vault.ItemRef{ID: id})
			case del:
				err = c.Delete(context.Background(), "o", vault.ItemRef{ID: id})
			}
			log.Error("vault call failed", slog.Any("error", err), slog.Any("credential", vaulttest.Password()))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				msg := err.Error()
				if tc.wantText != "" && !strings.Contains(msg, tc.wantText) {
					t.Fatalf("error %q does not contain %q", msg, tc.wantText)
				}
				// The service's own words reach only the log, and only
				// when nothing of them could be a secret.
				var ue *vault.UpstreamError
				if errors.As(err, &ue) && ue.Answer != nil && ue.Answer.Detail != tc.wantDetail {
					t.Fatalf("logged detail %q, want %q", vaulttest.Scrub(ue.Answer.Detail), tc.wantDetail)
				}
				for _, s := range []string{vaulttest.Token, vaulttest.PasswordValue} {
					if strings.Contains(msg, s) {
						t.Fatalf("error text leaks a secret: %q", vaulttest.Scrub(msg))
					}
				}
			}
			if tc.attempts > 0 && hits.Load() != tc.attempts {
				t.Fatalf("server saw %d requests, want %d", hits.Load(), tc.attempts)
			}
		})
	}
	t.Cleanup(func() {
		if otherHits.Load() != 0 {
			t.Errorf("the other origin was contacted (%d requests, Authorization %q)", otherHits.Load(), otherAuth.Load())
		}
		for _, s := range []string{vaulttest.Token, vaulttest.PasswordValue, "JBSWY3DPEHPK3PXP"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("captured logs contain a secret")
			}
		}
	})
}

func TestSecretRedactsEverywhere(t *testing.T) {
	t.Parallel()
	cred := vaulttest.Card()
	log, logs := captureLogs()
	log.Info("x", slog.Any("cred", cred), slog.Any("card", cred.CreditCard), slog.Any("s", cred.CreditCard.CVV))
	outputs := []string{
		fmt.Sprintf("%v %+v %#v %s %q %x", cred, cred.CreditCard, cred.CreditCard, cred.CreditCard.CardNumber,
			cred.CreditCard.CardNumber, cred.CreditCard.CardNumber),
		logs.String(),
	}
	for _, out := range outputs {
		for _, s := range []string{vaulttest.CardNumber, "Alice Smith", "1 Main St", "billing@example.com", "4111abcd"} {
			if strings.Contains(out, s) {
				t.Fatalf("a secret was printed: %s", vaulttest.Scrub(out))
			}
		}
	}
}

func TestTransportErrorsRetryOnlyIdempotentRequests(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 { // drop the first connection without an answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		if r.Method == http.MethodPost {
			w.Write([]byte(`{"id":"x"}`))
			return
		}
		w.Write([]byte(`{"type":"secret","secret_value":"v"}`))
	}))
	t.Cleanup(srv.Close)
	c := vaulttest.Client(t, srv.URL+"/api", contract.Options{})
	if _, err := c.Get(context.Background(), "o", vault.ItemRef{ID: "x"}); err != nil || hits.Load() != 2 {
		t.Fatalf("GET after a dropped connection: %v after %d requests, want success on the retry", err, hits.Load())
	}

	hits.Store(0)
	_, err := c.Create(context.Background(), "o", vaulttest.Secret())
	if !errors.Is(err, vault.ErrUpstream) || hits.Load() != 1 {
		t.Fatalf("POST after a dropped connection: %v after %d requests, want one attempt and ErrUpstream", err, hits.Load())
	}
	if !strings.Contains(err.Error(), "closed unexpectedly") {
		t.Fatalf("reason = %q, want a connection-closed reason", err)
	}
}
