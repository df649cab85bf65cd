// Package vault is credvault's credential-vault layer: the CredentialVault
// interface, the credential types with their wire shape, and the
// implementations that talk to a customer's custom credential service.
//
// The custom credential service contract (POST {base} → {"id"},
// GET {base}/{id}, DELETE {base}/{id}, "Authorization: Bearer {token}",
// JSON) is implemented exactly by Client. Three vaults ship:
//
//   - Client: one service, one base URL and token;
//   - the env-configured vault: a Client built from CREDENTIAL_VAULT_TYPE,
//     CUSTOM_CREDENTIAL_API_BASE_URL and CUSTOM_CREDENTIAL_API_TOKEN (see
//     NewEnvClient), shared by every organization;
//   - OrgVault: new items go to each organization's current configuration
//     (falling back to the env-configured vault); existing items are read and
//     deleted only through the configuration that stored them (ItemRef). A
//     ready Client is cached per organization and configuration, so a
//     steady-state read touches neither the database nor the keyring.
//
// Secret values are of type Secret, whose every printing, JSON and slog form
// is "[REDACTED]"; only the wire encoder reveals them. Errors are typed
// (ErrNotConfigured, ErrNotFound, ErrContractViolation, ErrUpstream,
// ErrTimeout, ErrInvalid, ErrSourceUnavailable) and never contain a secret:
// a service's own words pass through a Redactor first.
//
// The package knows HTTP clients and credentials; it does not know echo,
// SQL or Tink.
package vault
