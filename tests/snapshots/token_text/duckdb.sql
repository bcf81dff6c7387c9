-- Observation?code:text=heart
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
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
        )
        AND (
          (
            i1.text >= $p3 AND i1.text < $p4
          ) OR i1.text LIKE $p2 ESCAPE '\'
        )
    ) AS ids
    QUALIFY
      ROW_NUMBER() OVER (ORDER BY ids.id) <= $p5
  )
ORDER BY
  r.type ASC,
  r.id ASC;

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
        )
        AND (
          (
            i1.text >= $p3 AND i1.text < $p4
          ) OR i1.text LIKE $p2 ESCAPE '\'
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "code"
--   p2 = "% heart%"
--   p3 = "heart"
--   p4 = "heart􏿿"
--   p5 = 101
