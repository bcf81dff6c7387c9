-- Patient?_id=a,b
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
          r.id = $p1
        ) OR (
          r.id = $p2
        )
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
  r.tenant = $tenant
  AND r.type = $p0
  AND r.deleted = 0
  AND (
    (
      r.id = $p1
    ) OR (
      r.id = $p2
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "a"
--   p2 = "b"
--   p3 = 101
