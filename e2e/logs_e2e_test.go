package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/internal/testdb"
)

func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestAccessLog: one line per request (a failed one included), latency in
// milliseconds as a number, probes at debug, 4xx lines naming the rule, a
// customer service refusing its token a warning about that organization.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	h, svc, _, key := configured(t, testdb.Postgres)
	h.do("GET", "/healthz", "", nil)
	h.do("GET", "/api/v1/credentials", "", nil)
	h.do("POST", "/api/v1/credentials", key, map[string]any{"name": "", "credential_type": "secret", "credential": map[string]any{"secret_value": "v"}})
	r := h.do("POST", "/api/v1/credentials", key, secretBody("s", "l"))
	id := r.json(t)["credential_id"].(string)
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusUnauthorized)
		return true
	}
	if r := h.do("POST", "/api/v1/credentials/"+id+"/update", key, secretBody("s", "l")); r.status != 502 {
		t.Fatalf("update against a service refusing its token = %d", r.status)
	}
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	}
	if r := h.do("POST", "/api/v1/credentials/"+id+"/update", key, secretBody("s", "l")); r.status != 502 {
		t.Fatalf("update against a failing service = %d", r.status)
	}

	byID := map[string][]map[string]any{}
	for _, l := range logLines(t, h.logs.String()) {
		if id, ok := l["request_id"].(string); ok {
			byID[id] = append(byID[id], l)
		}
	}
	var sawHealth, saw401, saw400, sawWarn, saw500 bool
	for _, lines := range byID {
		if len(lines) != 1 {
			t.Errorf("a request logged %d lines: %v", len(lines), lines)
		}
		l := lines[0]
		if _, ok := l["latency_ms"].(float64); !ok {
			t.Errorf("latency_ms is not a number: %v", l)
		}
		status := l["status"].(float64)
		switch {
		case l["route"] == "/healthz":
			sawHealth = l["level"] == "DEBUG"
		case status == 401:
			saw401 = strings.Contains(l["reason"].(string), "API key")
		case status == 400:
			saw400 = l["reason"] == "invalid field name"
		case status == 502 && l["level"] == "WARN":
			sawWarn = strings.Contains(l["reason"].(string), "rejected its API token")
		case status == 502 && l["level"] == "ERROR":
			saw500 = l["error"] != nil
		}
	}
	if !sawHealth || !saw401 || !saw400 || !sawWarn || !saw500 {
		t.Fatalf("health at debug %v, 401 reason %v, 400 reason %v, token rejection a warning %v, 5xx with its error %v",
			sawHealth, saw401, saw400, sawWarn, saw500)
	}
}

func TestMetricsHaveRuntimeCollectors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.SQLite)
	h.do("GET", "/healthz", "", nil)
	r := h.do("GET", "/metrics", "", nil)
	for _, m := range []string{"go_goroutines", "process_resident_memory_bytes", "credvault_http_requests_total"} {
		if !strings.Contains(string(r.body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	_, err := credvault.Open(context.Background(), testConfig(t, testdb.SQLite), credvault.Options{Registerer: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "Gatherer") {
		t.Fatalf("Registerer without Gatherer: %v, want an error", err)
	}
}
