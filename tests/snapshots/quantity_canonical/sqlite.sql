-- Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_quantity AS i1
  WHERE
    (
      i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    )
    AND (
      (
        i1.canonical_unit = :p6
        AND (
          i1.canonical_value >= :p7 AND i1.canonical_value < :p8
        )
      )
      OR (
        (
          i1.value >= :p2 AND i1.value < :p3
        ) AND i1.system = :p4 AND i1.code = :p5
      )
    )
  ORDER BY
    i1.id
  LIMIT :p9
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
    r.id IN (
      SELECT
        i1.id
      FROM idx_quantity AS i1
      WHERE
        (
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
        )
        AND (
          (
            i1.canonical_unit = :p6
            AND (
              i1.canonical_value >= :p7 AND i1.canonical_value < :p8
            )
          )
          OR (
            (
              i1.value >= :p2 AND i1.value < :p3
            ) AND i1.system = :p4 AND i1.code = :p5
          )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "value-quantity"
--   p2 = "Da1535"
--   p3 = "Da1545"
--   p4 = "http://unitsofmeasure.org"
--   p5 = "mg"
--   p6 = "g"
--   p7 = "DZ7535"
--   p8 = "DZ7545"
--   p9 = 101
