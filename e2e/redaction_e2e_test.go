package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
)

// hostileToken holds the card's CVV ("123") inside it, the case where
// redacting the shorter secret first broke the token's match.
const hostileToken = "fake-token-0123456789abcdef"

// echoForms are the encodings of s that a hostile service echoes and that
// must never reach a client or a log.
func echoForms(s string) map[string]string {
	j, _ := json.Marshal(s)
	h, _ := json.Marshal(s) // json.Marshal escapes <, > and & as \u003c...
	b64 := base64.StdEncoding.EncodeToString([]byte(s))
	forms := map[string]string{
		"raw": s, "json": string(j[1 : len(j)-1]), "json-html": string(h[1 : len(h)-1]),
		"query": url.QueryEscape(s), "path": url.PathEscape(s), "upper": strings.ToUpper(s), "lower": strings.ToLower(s),
		"base64": b64, "base64-bearer": base64.StdEncoding.EncodeToString([]byte("Bearer " + s)),
		"base64-url":   base64.RawURLEncoding.EncodeToString([]byte(s)),
		"double-query": url.QueryEscape(url.QueryEscape(s)),
	}
	if len(s) >= 12 {
		forms["prefix"] = s[:10] // a truncated secret
	}
	if len(b64) > 76 {
		forms["base64-wrapped"] = b64[:76] // the first line of MIME base64
	}
	return forms
}

// echoAll renders the request (body and headers) in every encoding, and
// each JSON value of the body on its own.
func echoAll(r *http.Request, body []byte) string {
	var parts []string
	add := func(s string) {
		for name, f := range echoForms(s) {
			if name == "base64" {
				// Line-wrapped, as MIME does.
				for len(f) > 76 {
					parts, f = append(parts, f[:76]+"\r\n"), f[76:]
				}
			}
			parts = append(parts, f)
		}
	}
	add(string(body))
	for k, vs := range r.Header {
		for _, v := range vs {
			add(k + ": " + v)
			add(v)
		}
	}
	add(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case string:
			add(t)
		}
	}
	walk(m)
	return strings.Join(parts, " | ")
}

// hostileService stores items honestly while storing is true; otherwise
// every answer is an error echoing the request, its headers and the stored
// item in every encoding, and a GET may answer 200 with the stored
// password as the credential type.
type hostileService struct {
	url     string
	storing atomic.Bool
	typeGet atomic.Bool
	mu      sync.Mutex
	items   map[string][]byte
}

func newHostileService(t *testing.T) *hostileService {
	hs := &hostileService{items: map[string][]byte{}}
	hs.storing.Store(true)
	hs.url = httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/credentials/")
		hs.mu.Lock()
		stored := hs.items[id]
		if r.Method == http.MethodPost && hs.storing.Load() {
			id = "item" + string(rune('a'+len(hs.items)))
			hs.items[id] = body
		}
		hs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if hs.storing.Load() {
			switch r.Method {
			case http.MethodPost:
				_, _ = w.Write([]byte(`{"id":"` + id + `"}`))
			case http.MethodGet:
				_, _ = w.Write(stored)
			default:
				_, _ = w.Write([]byte(`{}`))
			}
			return
		}
		if r.Method == http.MethodGet && hs.typeGet.Load() {
			var item map[string]any
			_ = json.Unmarshal(stored, &item)
			for _, k := range []string{"password", "card_number", "secret_value"} {
				if v, ok := item[k]; ok {
					item["type"] = v
				}
			}
			out, _ := json.Marshal(item)
			_, _ = w.Write(out)
			return
		}
		echo := echoAll(r, body)
		var item map[string]any
		_ = json.Unmarshal(stored, &item)
		resp, _ := json.Marshal(map[string]any{"detail": echo + " stored=" + string(stored), "item": item, "message": echo})
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusInternalServerError)
		} else {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = w.Write(resp)
	})
	return hs
}

// TestHostileServiceEchoesNoSecret: for every credential type and every
// operation, a service that echoes everything back in every encoding gets
// none of it into credvault's answers or logs.
func TestHostileServiceEchoesNoSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	hs := newHostileService(t)
	orgID, key := h.org("A")
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(hs.url+"/api/v1/credentials", hostileToken)); r.status != 200 {
		t.Fatalf("configure = %d %s", r.status, r.body)
	}
	pw := `P@ss<w0rd>&"q"/ü-9f1e`
	bodies := map[string]map[string]any{
		"password": {"name": "pw", "credential_type": "password", "credential": map[string]any{
			"username": "alice", "password": pw, "totp": totpSeed, "totp_type": "authenticator",
			"metadata": map[string]string{"recovery": "meta-recovery-code-77"}}},
		"credit_card": {"name": "card", "credential_type": "credit_card", "credential": map[string]any{
			"card_holder_name": "Mallory Holder", "card_number": cardNumber, "card_exp_month": "07", "card_exp_year": "2031",
			"card_cvv": "123", "card_brand": "Visa", "billing_email": "bill@example.com", "billing_phone": "+1-555-0100",
			"billing_address": map[string]string{"line1": "9 Secret Lane", "city": "Hiddenville", "state": "Oregon", "country": "Wakanda"}}},
		"secret": {"name": "api", "credential_type": "secret", "credential": map[string]any{
			"secret_value": apiSecret, "secret_label": "label"}},
	}
	secrets := []string{hostileToken, pw, totpSeed, "meta-recovery-code-77", "Mallory Holder", cardNumber, "123",
		"bill@example.com", "+1-555-0100", "9 Secret Lane", "Hiddenville", "Oregon", "Wakanda", apiSecret}

	var answers []string
	check := func(what string, r response) {
		t.Helper()
		answers = append(answers, what+": "+string(r.body))
		if r.status < 400 {
			t.Errorf("%s = %d, want an error", what, r.status)
		}
	}
	for typ, body := range bodies {
		// Create: the service answers 400 echoing everything.
		hs.storing.Store(false)
		check(typ+" create", h.do("POST", "/api/v1/credentials", key, body))
		// Store one honestly, then read, TOTP, update and delete it
		// against the echoing service.
		hs.storing.Store(true)
		r := h.do("POST", "/api/v1/credentials", key, body)
		if r.status != 201 {
			t.Fatalf("%s honest create = %d", typ, r.status)
		}
		id := r.json(t)["credential_id"].(string)
		hs.storing.Store(false)
		if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id); err == nil {
			t.Errorf("%s GetWithSecret succeeded against an echoing service", typ)
		} else {
			answers = append(answers, typ+" GetWithSecret: "+err.Error())
		}
		hs.typeGet.Store(true)
		if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id); err == nil {
			t.Errorf("%s GetWithSecret with the secret as type succeeded", typ)
		} else {
			answers = append(answers, typ+" GetWithSecret (type): "+err.Error())
		}
		if typ == "password" {
			check(typ+" totp (type)", h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil))
		}
		hs.typeGet.Store(false)
		if typ == "password" {
			check(typ+" totp", h.do("GET", "/api/v1/credentials/"+id+"/totp-code", key, nil))
		}
		check(typ+" update", h.do("POST", "/api/v1/credentials/"+id+"/update", key, body))
		// A delete succeeds once recorded; the refusal is kept in the
		// outbox, where it must be as clean.
		// (The worker may retry it later, when the service stores again.)
		if r := h.do("DELETE", "/api/v1/credentials/"+id, key, nil); r.status != 204 {
			t.Errorf("%s delete = %d, want 204", typ, r.status)
		}
		ds, err := testStore(h.p).ListDeletions(t.Context(), 100)
		if err != nil || len(ds) == 0 {
			t.Fatalf("%s: outbox = %v %v, want the refused deletion", typ, ds, err)
		}
		for _, d := range ds {
			answers = append(answers, "outbox: "+d.LastError)
		}
	}
	check("test_connection roundtrip", h.do("POST", "/api/v1/credentials/custom_credential/test_connection?mode=roundtrip", key, nil))

	logs := h.logs.String()
	for _, s := range secrets {
		for name, f := range echoForms(s) {
			if len(f) < 3 {
				continue
			}
			for _, a := range answers {
				if strings.Contains(strings.ToLower(a), strings.ToLower(f)) {
					t.Errorf("an answer contains the %s form of a secret: %s", name, strings.SplitN(a, ":", 2)[0])
				}
			}
			// The logs are full of random hex ids, where a short run of
			// digits (the CVV) turns up by chance; answers carry no ids.
			if len(f) >= 6 && strings.Contains(strings.ToLower(logs), strings.ToLower(f)) {
				t.Errorf("the logs contain the %s form of a secret", name)
			}
		}
	}
	// Answers carry only the status and credvault's own words; the log
	// only the answer's type and length (its words held secrets).
	if !strings.Contains(strings.Join(answers, "\n"), "the service refused the request as invalid") {
		t.Error("no answer says the service refused the request; the test did not exercise the error path")
	}
	if !strings.Contains(logs, `"upstream":{"content_type":"application/json","length":`) {
		t.Error("the logs do not describe the service's error answer")
	}
}
