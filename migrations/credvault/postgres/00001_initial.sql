-- +goose Up
CREATE TABLE organizations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL
);

-- Organization API keys: only a SHA-256 hash of the key is kept.
CREATE TABLE org_api_keys (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key_hash        bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX org_api_keys_organization ON org_api_keys (organization_id);

-- Per-organization service configuration, encrypted with Tink. Replaced rows
-- are kept with valid = false; the partial unique index lets the database
-- enforce at most one valid row per organization and token type.
CREATE TABLE org_auth_tokens (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    token_type      text NOT NULL,
    encrypted_token bytea NOT NULL,
    valid           boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX org_auth_tokens_one_valid ON org_auth_tokens (organization_id, token_type) WHERE valid;

-- Credential metadata. The secret lives in the vault under item_id;
-- vault_source records which configuration stored it ("env" or an
-- org_auth_tokens id).
CREATE TABLE credentials (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL,
    credential_type text NOT NULL,
    vault_type      text NOT NULL,
    item_id         text NOT NULL,
    vault_source    text NOT NULL,
    username        text NOT NULL DEFAULT '',
    totp_type       text NOT NULL DEFAULT '',
    totp_identifier text NOT NULL DEFAULT '',
    card_last_four  text NOT NULL DEFAULT '',
    card_brand      text NOT NULL DEFAULT '',
    secret_label    text NOT NULL DEFAULT '',
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    modified_at     timestamptz NOT NULL,
    deleted_at      timestamptz
);
CREATE INDEX credentials_org_newest ON credentials (organization_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE audit_events (
    id              text PRIMARY KEY,
    organization_id text NOT NULL,
    actor_key_id    text NOT NULL DEFAULT '',
    action          text NOT NULL,
    target_id       text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);
CREATE INDEX audit_events_organization ON audit_events (organization_id, created_at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE credentials;
DROP TABLE org_auth_tokens;
DROP TABLE org_api_keys;
DROP TABLE organizations;
