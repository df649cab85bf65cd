-- +goose Up
-- Who is waiting for a create's answer, and until when. A process records
-- itself (owner) and a lease when it sends a create; its row write settles
-- the record only while it still owns it. A worker of any live process
-- takes over a record whose lease ran out (its process died, or lost the
-- answer) and recovers the item through the Idempotency-Key, deleting it
-- through the outbox unless a row points to it. NULL: recorded before this
-- migration, taken over at once.
ALTER TABLE vault_creates ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE vault_creates ADD COLUMN lease_until datetime NULL;
CREATE INDEX vault_creates_lease ON vault_creates (lease_until);

-- +goose Down
DROP INDEX vault_creates_lease;
ALTER TABLE vault_creates DROP COLUMN lease_until;
ALTER TABLE vault_creates DROP COLUMN owner;
