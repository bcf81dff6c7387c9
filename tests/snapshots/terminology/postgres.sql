-- Observation?code:in=http://example.org/vs
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
      FROM idx_token AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (i1.system, i1.code) IN (
          SELECT
            e2.system,
            e2.code
          FROM term_expansion AS e2
          WHERE
            e2.tenant = %(tenant)s
            AND e2.valueset = HELIOS_VALUESET_KEY(%(tenant)s, CAST(%(p2)s AS TEXT))
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
    r.id IN (
      SELECT
        i1.id
      FROM idx_token AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (i1.system, i1.code) IN (
          SELECT
            e2.system,
            e2.code
          FROM term_expansion AS e2
          WHERE
            e2.tenant = %(tenant)s
            AND e2.valueset = HELIOS_VALUESET_KEY(%(tenant)s, CAST(%(p2)s AS TEXT))
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "code"
--   p2 = "http://example.org/vs"
--   p3 = 101
