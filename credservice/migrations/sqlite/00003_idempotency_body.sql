-- +goose Up
-- An Idempotency-Key is bound to a hash of the body it first came with: the
-- same key with another body is refused (422). Keys recorded before this
-- migration have no hash and replay as before. The index on item_id lets a
-- delete forget the keys of its item: a key whose item is gone is never
-- replayed.
ALTER TABLE service_idempotency_keys ADD COLUMN body_hash blob NOT NULL DEFAULT x'';
CREATE INDEX service_idempotency_keys_item ON service_idempotency_keys (item_id);

-- +goose Down
DROP INDEX service_idempotency_keys_item;
ALTER TABLE service_idempotency_keys DROP COLUMN body_hash;
