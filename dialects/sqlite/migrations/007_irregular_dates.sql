-- 007: irregular date rows. A plain date row that is not its resource's only value of the
-- parameter, or that spans more than a day (or nothing), has grp 0 (backends/sql/index_tables.py);
-- a partial index holds those rows (and composite components, grp 1+) so that a date range
-- (date=ge2020-01&date=lt2020-02) reads the regular rows from a short slice of
-- idx_date_value and the irregular ones from this small index (compilers/sql.py).
UPDATE idx_date SET grp = 0
 WHERE grp IS NULL
   AND (NOT (high > low AND high - low <= 86400000000)
        OR (tenant, type, id, param) IN (
            SELECT tenant, type, id, param FROM idx_date WHERE grp IS NULL
             GROUP BY tenant, type, id, param HAVING count(*) > 1));
CREATE INDEX IF NOT EXISTS idx_date_irregular
    ON idx_date (tenant, type, param, low, high, id) WHERE grp >= 0;
