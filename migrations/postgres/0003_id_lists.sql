-- Id lists, the way the store binds them on both engines: one JSON array of integers as text
-- (store::types::id_json), read as a table with SQLite's json_each columns: `key` (the place in
-- the array, from 0) and `value` (the id). SQLite has json_each built in; PostgreSQL's own
-- json_each(json) reads objects, so this overload takes text. Statements such as
-- `WHERE id IN (SELECT value FROM json_each($1))` and
-- `FROM json_each($1) j JOIN backorders b ON b.id = j.value ORDER BY j.key` then run unchanged.
-- A JSON array of other values (arrays of row values) is read with jsonb_array_elements instead.
-- Not STRICT, so the planner inlines it into the statement (a plain table function it can plan).
CREATE FUNCTION json_each(list text) RETURNS TABLE (key bigint, value bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t.o - 1, t.v::bigint
    FROM jsonb_array_elements_text(list::jsonb) WITH ORDINALITY AS t(v, o)
$$;
