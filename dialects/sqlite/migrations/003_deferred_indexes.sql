-- 003: index definitions a bulk load dropped, to re-create when it ends (or, after a crash,
-- when the database is next opened).
CREATE TABLE IF NOT EXISTS deferred_indexes (name TEXT PRIMARY KEY, sql TEXT NOT NULL);
