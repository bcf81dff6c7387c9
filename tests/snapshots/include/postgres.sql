-- Encounter?status=finished&_include=Encounter:subject&_revinclude=Observation:encounter&_count=10
WITH page AS (
  SELECT
    r.type,
    r.id,
    r.version,
    r.last_updated,
    r.json,
    ROW_NUMBER() OVER (ORDER BY r.type ASC, r.id ASC) AS ord
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
          AND i1.code = %(p2)s
      )
    )
  ORDER BY
    r.type ASC,
    r.id ASC
  LIMIT %(p3)s
)
SELECT
  page.type,
  page.id,
  page.version,
  page.last_updated,
  page.json,
  page.ord
FROM page
UNION ALL
SELECT
  t.type,
  t.id,
  t.version,
  t.last_updated,
  t.json,
  NULL AS ord
FROM resources AS t
WHERE
  t.tenant = %(tenant)s
  AND t.deleted = 0
  AND (t.type, t.id) IN (
    SELECT
      n2.target_type,
      n2.target_id
    FROM idx_reference AS n2
    WHERE
      n2.tenant = %(tenant)s
      AND n2.type = %(p0)s
      AND n2.target_type IS NOT NULL
      AND n2.target_id IS NOT NULL
      AND n2.id IN (
        SELECT
          page.id
        FROM page
        WHERE
          page.ord <= %(p4)s
      )
      AND n2.param = %(p5)s
    UNION
    SELECT
      n3.type,
      n3.id
    FROM idx_reference AS n3
    WHERE
      n3.tenant = %(tenant)s
      AND n3.type = %(p6)s
      AND n3.target_type = %(p0)s
      AND n3.target_id IN (
        SELECT
          page.id
        FROM page
        WHERE
          page.ord <= %(p4)s
      )
      AND n3.param = %(p7)s
  )
  AND NOT (t.type, t.id) IN (
    SELECT
      page.type,
      page.id
    FROM page
    WHERE
      page.ord <= %(p4)s
  )
ORDER BY
  ord,
  type,
  id;

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
        AND i1.code = %(p2)s
    )
  );

-- paging: keyset
-- includes: inline (last column ord)
-- params:
--   p0 = "Encounter"
--   p1 = "status"
--   p2 = "finished"
--   p3 = 11
--   p4 = 10
--   p5 = "subject"
--   p6 = "Observation"
--   p7 = "encounter"
