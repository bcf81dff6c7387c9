-- Observation?date=ge2020&date=lt2021-01-01T10:00:00%2B02:00
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
      ids.id
    FROM (
      SELECT DISTINCT
        driver.id AS id
      FROM (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          (
            i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p5
          )
          AND (
            (
              i1.high > $p1
            ) AND (
              i1.low < $p2
            ) AND i1.low >= $p3 AND i1.low < $p4
          )
        UNION ALL
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            (
              i3.tenant = $tenant AND i3.type = $p0 AND i3.param = $p5
            )
            AND (
              i3.grp >= 0 AND (
                i3.high > $p7
              )
            )
          )
          AND i3.id IN (
            SELECT
              i2.id
            FROM idx_date AS i2
            WHERE
              (
                i2.tenant = $tenant AND i2.type = $p0 AND i2.param = $p5
              )
              AND (
                i2.grp >= 0 AND (
                  i2.low < $p6
                )
              )
          )
      ) AS driver
    ) AS ids
    QUALIFY
      ROW_NUMBER() OVER (ORDER BY ids.id) <= $p8
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
      r.id IN (
        SELECT
          i1.id
        FROM idx_date AS i1
        WHERE
          (
            i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p5
          )
          AND (
            (
              i1.high > $p1
            ) AND (
              i1.low < $p2
            ) AND i1.low >= $p3 AND i1.low < $p4
          )
        UNION ALL
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            (
              i3.tenant = $tenant AND i3.type = $p0 AND i3.param = $p5
            )
            AND (
              i3.grp >= 0 AND (
                i3.high > $p7
              )
            )
          )
          AND i3.id IN (
            SELECT
              i2.id
            FROM idx_date AS i2
            WHERE
              (
                i2.tenant = $tenant AND i2.type = $p0 AND i2.param = $p5
              )
              AND (
                i2.grp >= 0 AND (
                  i2.low < $p6
                )
              )
          )
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = 1577836800000000
--   p2 = 1609488000000000
--   p3 = 1577750400000000
--   p4 = 1609488000000000
--   p5 = "date"
--   p6 = 1609488000000000
--   p7 = 1577836800000000
--   p8 = 101
