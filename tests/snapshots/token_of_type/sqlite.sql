-- Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1
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
      i1.type_system = :p2 AND i1.type_code = :p3 AND i1.code = :p4
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
          i1.type_system = :p2 AND i1.type_code = :p3 AND i1.code = :p4
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "identifier"
--   p2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
--   p3 = "MR"
--   p4 = "1"
--   p5 = 101
