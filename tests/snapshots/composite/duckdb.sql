-- Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140
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
        r.id IN (
          SELECT
            c1.id
          FROM idx_token AS c1
          JOIN idx_quantity AS c2
            ON c2.tenant = c1.tenant
            AND c2.type = c1.type
            AND c2.id = c1.id
            AND c2.grp = c1.grp
            AND c2.param = $p4
            AND (
              c2.value > $p5
            )
          WHERE
            (
              c1.tenant = $tenant AND c1.type = $p0 AND c1.param = $p1
            )
            AND (
              c1.code = $p2 AND c1.system = $p3
            )
        )
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p6
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
    r.id IN (
      SELECT
        c1.id
      FROM idx_token AS c1
      JOIN idx_quantity AS c2
        ON c2.tenant = c1.tenant
        AND c2.type = c1.type
        AND c2.id = c1.id
        AND c2.grp = c1.grp
        AND c2.param = $p4
        AND (
          c2.value > $p5
        )
      WHERE
        (
          c1.tenant = $tenant AND c1.type = $p0 AND c1.param = $p1
        )
        AND (
          c1.code = $p2 AND c1.system = $p3
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "component-code-value-quantity$0"
--   p2 = "8480-6"
--   p3 = "http://loinc.org"
--   p4 = "component-code-value-quantity$1"
--   p5 = "Da314"
--   p6 = 101
