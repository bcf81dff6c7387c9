-- Patient?_lastUpdated=gt2024-01-01
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
      r.tenant = $tenant
      AND r.type = $p0
      AND r.deleted = 0
      AND (
        (
          r.last_updated + 1 > $p1
        )
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p2
  )
ORDER BY
  r.type ASC,
  r.id ASC;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = $tenant
  AND r.type = $p0
  AND r.deleted = 0
  AND (
    (
      r.last_updated + 1 > $p1
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = 1704153600000000
--   p2 = 101
