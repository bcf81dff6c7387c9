-- Patient?birthdate:missing=true&gender:missing=false
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i2.id
  FROM idx_token AS i2
  WHERE
    (
      i2.tenant = :tenant AND i2.type = :p0 AND i2.param = :p2
    )
    AND NOT i2.id IN (
      SELECT
        i1.id
      FROM idx_date AS i1
      WHERE
        i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    )
  ORDER BY
    i2.id
  LIMIT :p3
) AS d
CROSS JOIN resources AS r
WHERE
  r.tenant = :tenant AND r.type = :p0 AND r.deleted = 0 AND r.id = d.id
ORDER BY
  d.id;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = :tenant
  AND r.type = :p0
  AND r.deleted = 0
  AND (
    (
      NOT r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          i2.tenant = :tenant AND i2.type = :p0 AND i2.param = :p2
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "birthdate"
--   p2 = "gender"
--   p3 = 101
