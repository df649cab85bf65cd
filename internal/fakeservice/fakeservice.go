// Package fakeservice is an in-memory custom credential service honouring
// the contract, for tests: it records what it received and can be told to
// misbehave.
package fakeservice

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Service is a running fake. Its base URL is URL + "/api/v1/credentials".
type Service struct {
	*httptest.Server
	Token string

	mu       sync.Mutex
	items    map[string]map[string]any
	bodies   []map[string]any
	next     int
	Requests atomic.Int64
	// Fail, when set, answers instead of the normal handler if it returns
	// true (it has written the response).
	Fail func(w http.ResponseWriter, r *http.Request) bool
	// LoseAnswers, when set, makes a create store its item and then never
	// answer (until the client gives up): a lost answer.
	LoseAnswers atomic.Bool
}

// IDs returns the ids of the stored items.
func (s *Service) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.items))
	for id := range s.items {
		ids = append(ids, id)
	}
	return ids
}

// Drop removes an item behind credvault's back (an operator cleaning the
// service by hand), reporting whether it was there.
func (s *Service) Drop(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.items[id]
	delete(s.items, id)
	return ok
}

// Base is the service's base URL.
func (s *Service) Base() string { return s.URL + "/api/v1/credentials" }

// New starts a fake accepting token; it is closed when t ends.
func New(t testing.TB, token string) *Service {
	s := start(token)
	t.Cleanup(s.Close)
	return s
}

// Items returns how many items are stored.
func (s *Service) Items() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// LastBody returns the last create payload received.
func (s *Service) LastBody() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		return nil
	}
	return s.bodies[len(s.bodies)-1]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if s.Fail != nil && s.Fail(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, 401, map[string]string{"detail": "Invalid API token"})
		return
	}
	const base = "/api/v1/credentials"
	path := r.URL.EscapedPath()
	switch {
	case path == base && r.Method == http.MethodPost:
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			writeJSON(w, 400, map[string]string{"detail": "bad json"})
			return
		}
		s.mu.Lock()
		s.next++
		id := fmt.Sprintf("cred_%d", s.next)
		stored := map[string]any{}
		for k, v := range body {
			if k != "name" {
				stored[k] = v
			}
		}
		s.items[id] = stored
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		if s.LoseAnswers.Load() {
			<-r.Context().Done()
			return
		}
		writeJSON(w, 200, map[string]string{"id": id})
	case path == base && r.Method == http.MethodGet:
		writeJSON(w, 405, map[string]string{"detail": "Method Not Allowed"})
	case strings.HasPrefix(path, base+"/"):
		id := strings.TrimPrefix(path, base+"/")
		s.mu.Lock()
		item, ok := s.items[id]
		if ok && r.Method == http.MethodDelete {
			delete(s.items, id)
		}
		s.mu.Unlock()
		switch {
		case !ok:
			writeJSON(w, 404, map[string]string{"detail": "Credential not found"})
		case r.Method == http.MethodGet:
			writeJSON(w, 200, item)
		case r.Method == http.MethodDelete:
			writeJSON(w, 200, map[string]string{"status": "deleted"})
		default:
			writeJSON(w, 405, map[string]string{"detail": "Method Not Allowed"})
		}
	default:
		writeJSON(w, 404, map[string]string{"detail": "Not Found"})
	}
}

// start starts a fake; Close it when done.
func start(token string) *Service {
	s := &Service{Token: token, items: map[string]map[string]any{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}
