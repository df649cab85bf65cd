-- +goose Up
-- Every vault item credvault recorded for deletion (a compensation, a
-- replaced or migrated item, a user's delete, a recovered lost create),
-- kept 30 days after the deletion was recorded. A create whose answer
-- names one of them (a service replaying an Idempotency-Key whose item is
-- gone) is refused. create_key is the Idempotency-Key that stored the item
-- when credvault knows it: such a key is never sent again (the next
-- attempt is "<key>/a<n>").
CREATE TABLE vault_tombstones (
    organization_id text NOT NULL,
    vault_source    text NOT NULL,
    item_id         text NOT NULL,
    create_key      text NOT NULL DEFAULT '',
    created_at      datetime NOT NULL,
    PRIMARY KEY (organization_id, vault_source, item_id)
);
CREATE INDEX vault_tombstones_key ON vault_tombstones (create_key) WHERE create_key <> '';
CREATE INDEX vault_tombstones_age ON vault_tombstones (created_at);

-- +goose Down
DROP TABLE vault_tombstones;
