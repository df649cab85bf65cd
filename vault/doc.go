// Package vault is the core of credvault's credential-vault layer: the
// CredentialVault interface (vault.go), the credential types and their
// validation, Secret, the Redactor, TOTP, and the typed errors. It has no
// dependency on HTTP, SQL, Tink or credvault's configuration.
//
// Its subpackages each own one concern:
//
//   - wire: the JSON of the custom credential service contract, the only
//     place that knows a credential's shape on the wire;
//   - contract: the HTTP client of that contract (retries, limits,
//     same-origin redirects, redaction of every secret from errors) and
//     the vault metrics;
//   - netpolicy: which addresses a service may live at, enforced when the
//     URL is saved and again when the connection is dialled;
//   - orgvault: the per-organization vault — new items to the
//     organization's current configuration, existing ones only through
//     the configuration that stored them, ready clients cached.
//
// Secret values are of type Secret, whose every printing, JSON and slog form
// is "[REDACTED]"; only the wire encoder reveals them. Errors are typed
// (ErrNotConfigured, ErrItemGone, ErrContractViolation, ErrUpstream,
// ErrTimeout, ErrSourceUnavailable, and validation failures as
// *problem.InvalidError) and never contain a secret: a service's own words
// pass through a Redactor first.
package vault
