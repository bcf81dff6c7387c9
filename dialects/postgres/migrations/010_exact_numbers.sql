-- 010: exact numbers. The number and quantity columns were DOUBLE PRECISION, so integers
-- beyond 2^53 and long decimals were indexed rounded (value-quantity=9007199254740993 found
-- 9007199254740992 too); they are NUMERIC now, and the library binds Decimals, never floats.
-- Existing values are converted through their shortest text (what each double was written
-- from, as the compiler assumed); digits a double had already lost come back with a reindex
-- (store.reindex(ctx)), which re-extracts them from the stored documents.
ALTER TABLE idx_number
    ALTER COLUMN value TYPE NUMERIC USING value::text::numeric,
    ALTER COLUMN low TYPE NUMERIC USING low::text::numeric,
    ALTER COLUMN high TYPE NUMERIC USING high::text::numeric;
ALTER TABLE idx_quantity
    ALTER COLUMN value TYPE NUMERIC USING value::text::numeric,
    ALTER COLUMN low TYPE NUMERIC USING low::text::numeric,
    ALTER COLUMN high TYPE NUMERIC USING high::text::numeric,
    ALTER COLUMN canonical_value TYPE NUMERIC USING canonical_value::text::numeric,
    ALTER COLUMN canonical_low TYPE NUMERIC USING canonical_low::text::numeric,
    ALTER COLUMN canonical_high TYPE NUMERIC USING canonical_high::text::numeric;
