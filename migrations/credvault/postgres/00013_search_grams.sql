-- +goose Up
-- A second set of organization-scoped search keys, for the fragments the
-- trigrams of 00011 cannot narrow in a big organization, each prefixed
-- with its organization like 00011's:
--   - every run of 5 digits inside a longer run of digits: a number
--     ("777777", "site 777777") is looked up by its runs of 5 ("77777"),
--     a few rows, where its trigrams (" 77", "777": ten digits make only
--     a thousand trigrams) each name thousands of rows;
--   - every character: a fragment of 1 or 2 characters, which has no
--     trigram, is looked up by its characters, so a character in no row
--     is an empty posting list, not a scan of the organization.
-- A row holding a fragment holds each of these keys of it: a run of
-- digits of the fragment lies in a run of digits of the row at least as
-- long, and its characters are the row's. Built from C functions
-- (string_to_array splits into characters; the chr(31) that joins the
-- columns only adds a key no fragment asks for), about 12 µs a row.
-- Declared costly, like 00011's, so the planner checks the cheap LIKE
-- first when it filters rows one by one.
CREATE FUNCTION credentials_search_grams(org text, s text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000
    AS $$
        SELECT string_to_array(o.p || array_to_string(string_to_array(s, NULL), chr(31) || o.p), chr(31))
               || ARRAY(SELECT o.p || substr(r[1], i, 5)
                          FROM regexp_matches(s, '[0-9]{5,}', 'g') AS r, generate_series(1, length(r[1]) - 4) AS i)
          FROM (SELECT left(md5(org), 8) || ':' AS p) AS o
    $$;
CREATE INDEX credentials_search_grams ON credentials USING gin (
    credentials_search_grams(organization_id, lower(name || chr(31) || username || chr(31) || secret_label || chr(31) || card_brand || chr(31) || card_last_four))
) WHERE deleted_at IS NULL;

-- +goose Down
DROP INDEX credentials_search_grams;
DROP FUNCTION credentials_search_grams(text, text);
