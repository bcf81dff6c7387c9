-- Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140
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
        c1.id
      FROM idx_token AS c1
      JOIN idx_quantity AS c2
        ON c2.tenant = c1.tenant
        AND c2.type = c1.type
        AND c2.id = c1.id
        AND c2.grp = c1.grp
        AND c2.param = %(p4)s
        AND (
          c2.value > %(p5)s
        )
      WHERE
        (
          c1.tenant = %(tenant)s AND c1.type = %(p0)s AND c1.param = %(p1)s
        )
        AND (
          c1.code = %(p2)s AND c1.system = %(p3)s
        )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p6)s;

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
        c1.id
      FROM idx_token AS c1
      JOIN idx_quantity AS c2
        ON c2.tenant = c1.tenant
        AND c2.type = c1.type
        AND c2.id = c1.id
        AND c2.grp = c1.grp
        AND c2.param = %(p4)s
        AND (
          c2.value > %(p5)s
        )
      WHERE
        (
          c1.tenant = %(tenant)s AND c1.type = %(p0)s AND c1.param = %(p1)s
        )
        AND (
          c1.code = %(p2)s AND c1.system = %(p3)s
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
--   p5 = "140"
--   p6 = 101
