-- Observation?date=ge2020&date=lt2021-01-01T10:00:00%2B02:00
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
      r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
          )
          AND i1.high > %(p2)s
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_date AS i2
        WHERE
          (
            i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p1)s
          )
          AND i2.low < %(p3)s
      )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p4)s;

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
      r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
          )
          AND i1.high > %(p2)s
      )
    )
    AND (
      r.id IN (
        SELECT
          i2.id
        FROM idx_date AS i2
        WHERE
          (
            i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p1)s
          )
          AND i2.low < %(p3)s
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "date"
--   p2 = 1577836800000000
--   p3 = 1609488000000000
--   p4 = 101
