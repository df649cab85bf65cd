-- +goose Up
-- The change log of the embedded database: every change that processes
-- may have cached (a configuration, an API key, a credential row) appends
-- its topic and ids here in the transaction that makes it, and every
-- process sharing the file reads what is new once a second — so a key
-- revoked by `credvault org revoke-key` in another process is refused
-- within about a second. Rows older than an hour are pruned. (PostgreSQL
-- uses LISTEN/NOTIFY instead.)
CREATE TABLE store_changes (
    seq        integer PRIMARY KEY AUTOINCREMENT,
    topic      text NOT NULL,
    origin     text NOT NULL,
    payload    text NOT NULL,
    created_at datetime NOT NULL
);

-- +goose Down
DROP TABLE store_changes;
