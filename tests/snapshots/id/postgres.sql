-- Patient?_id=a,b
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
      r.id = %(p1)s
    ) OR (
      r.id = %(p2)s
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p3)s;

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
      r.id = %(p1)s
    ) OR (
      r.id = %(p2)s
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "a"
--   p2 = "b"
--   p3 = 101
