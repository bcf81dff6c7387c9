-- Patient?name=smith,jones
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.id
  FROM idx_string AS i1
  WHERE
    (
      i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
    )
    AND (
      (
        i1.norm >= :p2 AND i1.norm < :p3
      ) OR (
        i1.norm >= :p4 AND i1.norm < :p5
      )
    )
  ORDER BY
    i1.id
  LIMIT :p6
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
      FROM idx_string AS i1
      WHERE
        (
          i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
        )
        AND (
          (
            i1.norm >= :p2 AND i1.norm < :p3
          ) OR (
            i1.norm >= :p4 AND i1.norm < :p5
          )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "name"
--   p2 = "smith"
--   p3 = "smith􏿿"
--   p4 = "jones"
--   p5 = "jones􏿿"
--   p6 = 101
