-- Patient?_filter=name sw %22sm%22 and (gender eq female or birthdate lt 1980)
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_string AS i1
  WHERE
    (
      (
        i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
      )
      AND (
        i1.norm >= :p2 AND i1.norm < :p3
      )
    )
    AND (
      i1.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          (
            i2.tenant = :tenant AND i2.type = :p0 AND i2.param = :p4
          )
          AND (
            i2.code = :p5
          )
      )
      OR i1.id IN (
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            i3.tenant = :tenant AND i3.type = :p0 AND i3.param = :p6
          )
          AND (
            i3.low < :p7
          )
      )
    )
  ORDER BY
    i1.id
  LIMIT :p8
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
      r.id IN (
        SELECT
          i1.id
        FROM idx_string AS i1
        WHERE
          (
            i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
          )
          AND (
            i1.norm >= :p2 AND i1.norm < :p3
          )
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          (
            i2.tenant = :tenant AND i2.type = :p0 AND i2.param = :p4
          )
          AND (
            i2.code = :p5
          )
      )
      OR r.id IN (
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            i3.tenant = :tenant AND i3.type = :p0 AND i3.param = :p6
          )
          AND (
            i3.low < :p7
          )
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "name"
--   p2 = "sm"
--   p3 = "sm􏿿"
--   p4 = "gender"
--   p5 = "female"
--   p6 = "birthdate"
--   p7 = 315532800000000
--   p8 = 101
