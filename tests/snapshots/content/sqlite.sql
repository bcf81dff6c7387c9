-- Patient?_content=%22cardiac condition%22
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    t1.id
  FROM resource_text AS t1
  WHERE
    t1.tenant = :tenant AND t1.type = :p0 AND t1.resource_text = :p1
  ORDER BY
    t1.id
  LIMIT :p2
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
      FROM resource_text AS t1
      WHERE
        t1.tenant = :tenant AND t1.type = :p0 AND t1.resource_text = :p1
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "content : (\"cardiac condition\")"
--   p2 = 101
