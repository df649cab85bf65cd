-- +goose Up
-- A value encrypted with the keyset when the database is first used, so a
-- process started with the wrong keyset refuses to start instead of
-- answering 500 to every request (credvault.Open writes and checks it).
CREATE TABLE keyset_canary (
    id         integer PRIMARY KEY CHECK (id = 1),
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE keyset_canary;
