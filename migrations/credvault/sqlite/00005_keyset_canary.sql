-- +goose Up
-- A value encrypted with the keyset when the database is first used (see
-- the PostgreSQL migration).
CREATE TABLE keyset_canary (
    id         integer PRIMARY KEY CHECK (id = 1),
    ciphertext blob NOT NULL,
    created_at datetime NOT NULL
);

-- +goose Down
DROP TABLE keyset_canary;
