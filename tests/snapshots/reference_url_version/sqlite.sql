-- QuestionnaireResponse?questionnaire=http://x.org/Q/1|2.0
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_reference AS i1
  WHERE
    (
      i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    )
    AND (
      i1.url = :p2 AND i1.version = :p3
    )
  ORDER BY
    i1.id
  LIMIT :p4
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
      FROM idx_reference AS i1
      WHERE
        (
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
        )
        AND (
          i1.url = :p2 AND i1.version = :p3
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "QuestionnaireResponse"
--   p1 = "questionnaire"
--   p2 = "http://x.org/Q/1"
--   p3 = "2.0"
--   p4 = 101
