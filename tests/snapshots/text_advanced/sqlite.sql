-- Observation?code:text-advanced=heart
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    t1.id
  FROM param_text AS t1
  WHERE
    t1.tenant = :tenant AND t1.param = :p2 AND t1.type = :p0 AND t1.param_text = :p1
  ORDER BY
    t1.id
  LIMIT :p3
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
        t1.id
      FROM param_text AS t1
      WHERE
        t1.tenant = :tenant AND t1.param = :p2 AND t1.type = :p0 AND t1.param_text = :p1
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "text : (\"heart\")"
--   p2 = "code"
--   p3 = 101
