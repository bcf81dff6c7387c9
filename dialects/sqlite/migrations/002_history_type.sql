-- 002: an index for type-level history (`Patient/_history`).
CREATE INDEX IF NOT EXISTS history_type_updated ON history (tenant, type, last_updated);
