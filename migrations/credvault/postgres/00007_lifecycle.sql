-- +goose Up
-- A create in flight: recorded before the service is asked to store an
-- item (its id is the Idempotency-Key sent), removed in the transaction
-- that writes the credential row. One left behind is an answer that was
-- lost (state 'lost') or a process that stopped mid-call: the service may
-- hold an item no row points to under this key: `credvault reconcile`
-- reports it, and with --fix recovers it from a service that honours
-- Idempotency-Key (the create is replayed, the item deleted).
CREATE TABLE vault_creates (
    id              text PRIMARY KEY,
    organization_id text NOT NULL,
    credential_id   text NOT NULL,
    vault_source    text NOT NULL,
    operation       text NOT NULL,
    state           text NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);
CREATE INDEX vault_creates_org ON vault_creates (organization_id, created_at);

-- When `credvault reconcile --fix` found a credential's item gone from the
-- service that stored it (NULL: not known to be missing). Reads then say
-- so; an update with the secret (or a migration) clears it.
ALTER TABLE credentials ADD COLUMN item_missing_at timestamptz NULL;

-- +goose Down
ALTER TABLE credentials DROP COLUMN item_missing_at;
DROP TABLE vault_creates;
