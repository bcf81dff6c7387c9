-- Encounter?status=finished&_include=Encounter:subject&_revinclude=Observation:encounter&_count=10
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_token AS i1
  WHERE
    (
      i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    ) AND i1.code = :p2
  ORDER BY
    i1.id
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
        i1.id
      FROM idx_token AS i1
      WHERE
        (
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
        ) AND i1.code = :p2
    )
  );

-- paging: keyset
-- params:
--   p0 = "Encounter"
--   p1 = "status"
--   p2 = "finished"
--   p3 = 11
