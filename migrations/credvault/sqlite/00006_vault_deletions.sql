-- +goose Up
-- The outbox of vault items that must be deleted (a compensation, an
-- update's replaced item): recorded in the transaction of the row change,
-- then deleted by a worker that retries with backoff until the service
-- confirms (2xx or 404), across restarts and replicas.
CREATE TABLE vault_deletions (
    id              text PRIMARY KEY,
    organization_id text NOT NULL,
    item_id         text NOT NULL,
    vault_source    text NOT NULL,
    reason          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at datetime NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      datetime NOT NULL
);
CREATE INDEX vault_deletions_due ON vault_deletions (next_attempt_at);

-- +goose Down
DROP TABLE vault_deletions;
