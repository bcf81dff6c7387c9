-- Observation?code:text-advanced=heart
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
        t1.id
      FROM param_text AS t1
      WHERE
        t1.tenant = %(tenant)s
        AND t1.param = %(p1)s
        AND t1.type = %(p0)s
        AND t1.text @@ CAST(%(p2)s AS tsquery)
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
        t1.id
      FROM param_text AS t1
      WHERE
        t1.tenant = %(tenant)s
        AND t1.param = %(p1)s
        AND t1.type = %(p0)s
        AND t1.text @@ CAST(%(p2)s AS tsquery)
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "code"
--   p2 = "'heart'"
--   p3 = 101
