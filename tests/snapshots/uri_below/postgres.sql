-- ValueSet?url:below=http://example.org/fhir/
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
      FROM idx_uri AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (
          i1.uri >= %(p2)s AND i1.uri < %(p3)s
        )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p4)s;

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
      FROM idx_uri AS i1
      WHERE
        (
          i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
        )
        AND (
          i1.uri >= %(p2)s AND i1.uri < %(p3)s
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "ValueSet"
--   p1 = "url"
--   p2 = "http://example.org/fhir/"
--   p3 = "http://example.org/fhir/􏿿"
--   p4 = 101
