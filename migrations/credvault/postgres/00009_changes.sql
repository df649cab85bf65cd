-- +goose Up
-- Nothing on PostgreSQL: changes travel by LISTEN/NOTIFY. The embedded
-- database's 00009 creates its change log; this keeps both schemas at the
-- same version.
SELECT 1;

-- +goose Down
SELECT 1;
