-- 002: the full-text row of each resource, found by key (FTS5 can only delete by rowid
-- efficiently), and an index for type-level history (`Patient/_history`).
CREATE TABLE IF NOT EXISTS resource_text_rowid (
    tenant TEXT    NOT NULL,
    type   TEXT    NOT NULL,
    id     TEXT    NOT NULL,
    rid    INTEGER NOT NULL,
    PRIMARY KEY (tenant, type, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS history_type_updated ON history (tenant, type, last_updated);
