-- 008: exact numbers. The number and quantity columns held REAL values, so integers beyond
-- 2^53 and long decimals were indexed rounded (value-quantity=9007199254740993 found
-- 9007199254740992 too). They hold text keys now, whose byte order is the numbers' order
-- (indexing/decimal_keys.py: every digit kept; a key never looks like a number, so the
-- columns' REAL affinity leaves it text). helios_number_key (registered by the migration
-- runner) converts a REAL through its shortest repr (what it was written from) and keeps a
-- key as it is; digits a REAL had already lost come back with a reindex (store.reindex(ctx)).
UPDATE idx_number
   SET value = helios_number_key(value), low = helios_number_key(low),
       high = helios_number_key(high);
UPDATE idx_quantity
   SET value = helios_number_key(value), low = helios_number_key(low),
       high = helios_number_key(high), canonical_value = helios_number_key(canonical_value),
       canonical_low = helios_number_key(canonical_low),
       canonical_high = helios_number_key(canonical_high);
