-- ValueSet?url:above=http://example.org/fhir/ValueSet/a
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_uri AS i1
  WHERE
    (
      i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    )
    AND SUBSTRING(:p2, 1, LENGTH(i1.uri)) = i1.uri
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
      FROM idx_uri AS i1
      WHERE
        (
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
        )
        AND SUBSTRING(:p2, 1, LENGTH(i1.uri)) = i1.uri
    )
  );

-- paging: keyset
-- params:
--   p0 = "ValueSet"
--   p1 = "url"
--   p2 = "http://example.org/fhir/ValueSet/a"
--   p3 = 101
