-- +goose Up
-- Idempotency-Key of each create, for 24 hours: the same key (from the same
-- token) returns the same item instead of storing another. Only a hash of
-- token and key is kept.
CREATE TABLE service_idempotency_keys (
    key_hash   bytea PRIMARY KEY,
    item_id    text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX service_idempotency_keys_age ON service_idempotency_keys (created_at);

-- +goose Down
DROP TABLE service_idempotency_keys;
