package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// atomicStrings collects strings from concurrent handlers.
type atomicStrings struct {
	mu sync.Mutex
	ss []string
}

func (a *atomicStrings) add(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ss = append(a.ss, s)
}

func (a *atomicStrings) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ss...)
}

// httptestServer starts a loopback server and returns its URL.
func httptestServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// innerToken decodes the token string of a custom_credential answer.
func innerToken(t *testing.T, r response) map[string]string {
	t.Helper()
	tok, _ := r.json(t)["token"].(map[string]any)
	s, _ := tok["token"].(string)
	var inner map[string]string
	if err := json.Unmarshal([]byte(s), &inner); err != nil {
		t.Fatalf("token is not a JSON string: %d %s", r.status, r.body)
	}
	return inner
}

// maskedToken is the api_token that custom_credential/get shows.
func maskedToken(t *testing.T, h *harness, key string) string {
	t.Helper()
	r := h.do("GET", "/api/v1/credentials/custom_credential/get", key, nil)
	if r.status != 200 {
		t.Fatalf("get = %d %s", r.status, r.body)
	}
	return innerToken(t, r)["api_token"]
}
