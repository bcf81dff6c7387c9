-- Patient?birthdate:missing=true&gender:missing=false
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
      NOT r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p2)s
      )
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
      NOT r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p2)s
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "birthdate"
--   p2 = "gender"
--   p3 = 101
