-- +goose Up
-- Search keys scoped to the organization: each row's trigrams (pg_trgm's
-- show_trgm of the one lower-cased search expression), each prefixed
-- with its organization (8 hex digits of the id's MD5: short keys, and
-- the organization filter and the LIKE recheck every row anyway), in one
-- GIN index. A fragment's trigrams
-- (credvault computes them the way pg_trgm pads words) then meet only
-- that organization's posting lists, so a search reads work proportional
-- to its matches in the organization — not to the organization's size
-- (the organization column of the btree_gin index was one posting list
-- of every row), nor to other organizations' matches (a trigram-only
-- index). The keys are built by pg_trgm and string functions alone
-- (trigrams never hold "|"), so indexing a row stays cheap; the function
-- is declared costly so the planner checks the cheap LIKE first when it
-- filters rows one by one.
-- +goose StatementBegin
DO $$
DECLARE
    trgm_schema text;
BEGIN
    SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format(
        'CREATE FUNCTION credentials_search_keys(org text, s text) RETURNS text[] '
        'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000 '
        'AS $f$SELECT string_to_array(left(md5(org), 8) || '':'' || array_to_string(%I.show_trgm(s), ''|'' || left(md5(org), 8) || '':''), ''|'')$f$',
        trgm_schema);
END
$$;
-- +goose StatementEnd
CREATE INDEX credentials_search_keys ON credentials USING gin (
    credentials_search_keys(organization_id, lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four))
) WHERE deleted_at IS NULL;
DROP INDEX credentials_search_trgm;

-- +goose Down
DROP INDEX credentials_search_keys;
DROP FUNCTION credentials_search_keys(text, text);
-- +goose StatementBegin
DO $$
DECLARE
    trgm_schema text;
    btree_schema text;
BEGIN
    SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    SELECT n.nspname INTO btree_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'btree_gin';
    EXECUTE format(
        'CREATE INDEX credentials_search_trgm ON credentials USING gin (organization_id %I.text_ops, '
        '(lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four)) %I.gin_trgm_ops'
        ') WHERE deleted_at IS NULL', btree_schema, trgm_schema);
END
$$;
-- +goose StatementEnd
