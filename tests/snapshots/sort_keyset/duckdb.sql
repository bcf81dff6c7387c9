-- Patient?_sort=-_lastUpdated&_count=5
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM resources AS r
WHERE
  r.tenant = $tenant
  AND r.type = $p0
  AND r.deleted = 0
  AND r.id IN (
    SELECT
      r.id
    FROM resources AS r
    WHERE
      r.tenant = $tenant AND r.type = $p0 AND r.deleted = 0
    ORDER BY
      r.last_updated DESC,
      r.type ASC,
      r.id ASC
    LIMIT $p1
  )
ORDER BY
  r.last_updated DESC,
  r.type ASC,
  r.id ASC;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = $tenant AND r.type = $p0 AND r.deleted = 0;

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = 6
