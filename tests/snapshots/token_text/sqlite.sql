-- Observation?code:text=heart
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
    )
    AND (
      (
        i1.text >= :p3 AND i1.text < :p4
      ) OR i1.text LIKE :p2 ESCAPE '\'
    )
  ORDER BY
    i1.id
  LIMIT :p5
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
        )
        AND (
          (
            i1.text >= :p3 AND i1.text < :p4
          ) OR i1.text LIKE :p2 ESCAPE '\'
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
