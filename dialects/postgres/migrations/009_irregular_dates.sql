-- 009: irregular date rows. A plain date row that is not its resource's only value of the
-- parameter, or that spans more than a day (or nothing), has grp 0 (backends/sql/index_tables.py);
-- a partial index holds those rows (and composite components, grp 1+) so that a date range
-- (date=ge2020-01&date=lt2020-02) can read the regular rows from a short slice of
-- idx_date_value and the irregular ones from this small index, as SQLite does. The
-- PostgreSQL compiler does not yet (DATE_SLICES in compilers/postgres.py: the planner reads a
-- whole slice before it sorts the page); the rows are marked as every store marks them.
-- Row-level security is lifted for the owner while existing rows are marked (FORCE binds it).
DO $$
DECLARE
    forced BOOLEAN;
BEGIN
    SELECT c.relforcerowsecurity INTO forced FROM pg_class c
     WHERE c.oid = 'idx_date'::regclass;
    IF forced THEN
        ALTER TABLE idx_date NO FORCE ROW LEVEL SECURITY;
    END IF;
    UPDATE idx_date SET grp = 0
     WHERE grp IS NULL
       AND (NOT (high > low AND high - low <= 86400000000)
            OR (tenant, type, id, param) IN (
                SELECT tenant, type, id, param FROM idx_date WHERE grp IS NULL
                 GROUP BY tenant, type, id, param HAVING count(*) > 1));
    IF forced THEN
        ALTER TABLE idx_date FORCE ROW LEVEL SECURITY;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS idx_date_irregular
    ON idx_date (tenant, type, param, low, high, id) WHERE grp >= 0;
