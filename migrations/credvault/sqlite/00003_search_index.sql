-- +goose Up
-- SQLite has no trigram index: search scans the organization's rows (see
-- docs/BENCHMARKS.md). This version keeps both dialects' numbering equal.
SELECT 1;

-- +goose Down
SELECT 1;
