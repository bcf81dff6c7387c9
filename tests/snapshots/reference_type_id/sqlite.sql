-- Observation?subject=Patient/1
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
      i1.target_id = :p2 AND i1.target_type = :p3
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
          i1.target_id = :p2 AND i1.target_type = :p3
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "subject"
--   p2 = "1"
--   p3 = "Patient"
--   p4 = 101
