-- Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
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
    r.id IN (
      SELECT
        i1.id
      FROM idx_quantity AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (
          (
            i1.canonical_unit = %(p6)s
            AND (
              i1.canonical_value >= %(p7)s AND i1.canonical_value < %(p8)s
            )
          )
          OR (
            (
              i1.value >= %(p2)s AND i1.value < %(p3)s
            )
            AND i1.system = %(p4)s
            AND i1.code = %(p5)s
          )
        )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p9)s;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = %(tenant)s
  AND r.type = %(p0)s
  AND r.deleted = 0
  AND (
    r.id IN (
      SELECT
        i1.id
      FROM idx_quantity AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (
          (
            i1.canonical_unit = %(p6)s
            AND (
              i1.canonical_value >= %(p7)s AND i1.canonical_value < %(p8)s
            )
          )
          OR (
            (
              i1.value >= %(p2)s AND i1.value < %(p3)s
            )
            AND i1.system = %(p4)s
            AND i1.code = %(p5)s
          )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "value-quantity"
--   p2 = "5.35"
--   p3 = "5.45"
--   p4 = "http://unitsofmeasure.org"
--   p5 = "mg"
--   p6 = "g"
--   p7 = "0.00535"
--   p8 = "0.00545"
--   p9 = 101
