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
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p6)s
          )
          AND (
            (
              (
                i1.high > %(p1)s
              ) OR (
                i1.low >= %(p2)s AND i1.high <= %(p1)s
              )
            )
            AND (
              i1.low < %(p3)s
            )
            AND i1.low >= %(p4)s
            AND i1.low < %(p5)s
          )
        UNION ALL
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            (
              i3.tenant = %(tenant)s AND i3.type = %(p0)s AND i3.param = %(p6)s
            )
            AND (
              i3.grp >= 0
              AND (
                (
                  i3.high > %(p8)s
                ) OR (
                  i3.low >= %(p9)s AND i3.high <= %(p8)s
                )
              )
            )
          )
          AND i3.id IN (
            SELECT
              i2.id
            FROM idx_date AS i2
            WHERE
              (
                i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p6)s
              )
              AND (
                i2.grp >= 0 AND (
                  i2.low < %(p7)s
                )
              )
          )
      )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p10)s;

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
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p6)s
          )
          AND (
            (
              (
                i1.high > %(p1)s
              ) OR (
                i1.low >= %(p2)s AND i1.high <= %(p1)s
              )
            )
            AND (
              i1.low < %(p3)s
            )
            AND i1.low >= %(p4)s
            AND i1.low < %(p5)s
          )
        UNION ALL
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          (
            (
              i3.tenant = %(tenant)s AND i3.type = %(p0)s AND i3.param = %(p6)s
            )
            AND (
              i3.grp >= 0
              AND (
                (
                  i3.high > %(p8)s
                ) OR (
                  i3.low >= %(p9)s AND i3.high <= %(p8)s
                )
              )
            )
          )
          AND i3.id IN (
            SELECT
              i2.id
            FROM idx_date AS i2
            WHERE
              (
                i2.tenant = %(tenant)s AND i2.type = %(p0)s AND i2.param = %(p6)s
              )
              AND (
                i2.grp >= 0 AND (
                  i2.low < %(p7)s
                )
              )
          )
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = 1609459200000000
--   p2 = 1577836800000000
--   p3 = 1609488000000000
--   p4 = 1577836800000000
--   p5 = 1609488000000000
--   p6 = "date"
--   p7 = 1609488000000000
--   p8 = 1609459200000000
--   p9 = 1577836800000000
--   p10 = 101
