package contract

import (
	"context"
	"errors"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts and times vault operations by operation and outcome.
type Metrics struct {
	ops     *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewMetrics registers credvault_vault_operations_total,
// credvault_vault_operation_duration_seconds and
// credvault_upstream_connections_opened_total (what opened reports: the
// sum of the transports' counts) with reg.
func NewMetrics(reg prometheus.Registerer, opened func() uint64) *Metrics {
	m := &Metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_vault_operations_total",
			Help: "Credential vault operations by operation (create, get, delete) and outcome.",
		}, []string{"op", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "credvault_vault_operation_duration_seconds",
			Help:    "Latency of credential vault operations, including the custom service round trip.",
			Buckets: prometheus.DefBuckets,
		}, []string{"op"}),
	}
	reg.MustRegister(m.ops, m.latency, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "credvault_upstream_connections_opened_total",
		Help: "TCP connections opened to custom credential services (a steady state reuses them).",
	}, func() float64 { return float64(opened()) }))
	return m
}

// outcome names an error class for the metrics label.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, vault.ErrNotConfigured):
		return "not_configured"
	case errors.Is(err, vault.ErrItemGone):
		return "not_found"
	case errors.Is(err, vault.ErrTimeout):
		return "timeout"
	case errors.Is(err, vault.ErrContractViolation):
		return "contract_violation"
	case errors.Is(err, vault.ErrUpstream):
		return "upstream_error"
	case errors.Is(err, problem.ErrInvalid):
		return "invalid"
	case errors.Is(err, vault.ErrSourceUnavailable):
		return "source_unavailable"
	}
	return "error"
}

func (m *Metrics) observe(op string, start time.Time, err error) {
	m.ops.WithLabelValues(op, outcome(err)).Inc()
	m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Instrument wraps v so every operation is counted and timed. A plain
// CredentialVault is made a SourcedVault first (vault.Sourced).
func (m *Metrics) Instrument(v vault.SourcedVault) vault.SourcedVault {
	return &instrumented{v: v, m: m}
}

type instrumented struct {
	v vault.SourcedVault
	m *Metrics
}

func (i *instrumented) Create(ctx context.Context, orgID string, c vault.Credential) (vault.ItemRef, error) {
	start := time.Now()
	ref, err := i.v.Create(ctx, orgID, c)
	i.m.observe("create", start, err)
	return ref, err
}

func (i *instrumented) Get(ctx context.Context, orgID string, ref vault.ItemRef) (vault.Credential, error) {
	start := time.Now()
	c, err := i.v.Get(ctx, orgID, ref)
	i.m.observe("get", start, err)
	return c, err
}

func (i *instrumented) Delete(ctx context.Context, orgID string, ref vault.ItemRef) error {
	start := time.Now()
	err := i.v.Delete(ctx, orgID, ref)
	i.m.observe("delete", start, err)
	return err
}

func (i *instrumented) CurrentSource(ctx context.Context, orgID string) (string, error) {
	return i.v.CurrentSource(ctx, orgID)
}

func (i *instrumented) CreateAt(ctx context.Context, orgID, source string, c vault.Credential) (vault.ItemRef, error) {
	start := time.Now()
	ref, err := i.v.CreateAt(ctx, orgID, source, c)
	i.m.observe("create", start, err)
	return ref, err
}

func (i *instrumented) ReplayCreate(ctx context.Context, orgID, source, key string) (vault.ItemRef, bool, error) {
	start := time.Now()
	ref, honoured, err := i.v.ReplayCreate(ctx, orgID, source, key)
	i.m.observe("create", start, err)
	return ref, honoured, err
}
