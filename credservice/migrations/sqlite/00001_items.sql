-- +goose Up
-- Items of the reference credential-service. The whole credential is one
-- Tink ciphertext bound to the item id; only the type is in the clear.
CREATE TABLE service_items (
    id         text PRIMARY KEY,
    item_type  text NOT NULL,
    ciphertext blob NOT NULL,
    created_at datetime NOT NULL
);

-- +goose Down
DROP TABLE service_items;
