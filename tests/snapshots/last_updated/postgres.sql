-- Patient?_lastUpdated=gt2024-01-01
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM resources AS r
WHERE
  r.tenant = %(tenant)s
  AND r.type = %(p0)s
  AND r.deleted = 0
  AND (
    (
      r.last_updated + 1 > %(p1)s
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p2)s;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = %(tenant)s
  AND r.type = %(p0)s
  AND r.deleted = 0
  AND (
    (
      r.last_updated + 1 > %(p1)s
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = 1704153600000000
--   p2 = 101
