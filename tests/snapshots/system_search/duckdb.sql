-- ?_type=Patient,Organization&_id=a
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM resources AS r
WHERE
  r.tenant = $tenant
  AND r.type IN ($p0, $p1)
  AND r.deleted = 0
  AND (r.type, r.id) IN (
    SELECT
      r.type,
      r.id
    FROM resources AS r
    WHERE
      r.tenant = $tenant AND r.type IN ($p0, $p1) AND r.deleted = 0 AND (
        r.id = $p2
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p3
  )
ORDER BY
  r.type ASC,
  r.id ASC;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = $tenant AND r.type IN ($p0, $p1) AND r.deleted = 0 AND (
    r.id = $p2
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "Organization"
--   p2 = "a"
--   p3 = 101
