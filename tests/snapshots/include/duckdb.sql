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
    r.tenant = $tenant
    AND r.type = $p0
    AND r.deleted = 0
    AND r.id IN (
      SELECT
        ids.id
      FROM (
        SELECT DISTINCT
          i1.id AS id
        FROM idx_token AS i1
        WHERE
          (
            i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
          ) AND i1.code = $p2
      ) AS ids
      QUALIFY
        ROW_NUMBER() OVER (ORDER BY ids.id) <= $p3
    )
  ORDER BY
    r.type ASC,
    r.id ASC
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
  t.tenant = $tenant
  AND t.deleted = 0
  AND (t.type, t.id) IN (
    SELECT
      n2.target_type,
      n2.target_id
    FROM idx_reference AS n2
    WHERE
      n2.tenant = $tenant
      AND n2.type = $p0
      AND NOT n2.target_type IS NULL
      AND NOT n2.target_id IS NULL
      AND n2.id IN (
        SELECT
          page.id
        FROM page
        WHERE
          page.ord <= $p4
      )
      AND n2.param = $p5
    UNION
    SELECT
      n3.type,
      n3.id
    FROM idx_reference AS n3
    WHERE
      n3.tenant = $tenant
      AND n3.type = $p6
      AND n3.target_type = $p0
      AND n3.target_id IN (
        SELECT
          page.id
        FROM page
        WHERE
          page.ord <= $p4
      )
      AND n3.param = $p7
  )
  AND NOT (t.type, t.id) IN (
    SELECT
      page.type,
      page.id
    FROM page
    WHERE
      page.ord <= $p4
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
  r.tenant = $tenant
  AND r.type = $p0
  AND r.deleted = 0
  AND (
    r.id IN (
      SELECT
        i1.id
      FROM idx_token AS i1
      WHERE
        (
          i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
        ) AND i1.code = $p2
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
