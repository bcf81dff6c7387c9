-- Patient?_content=%22cardiac condition%22
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
        t1.id AS id
      FROM resource_text AS t1
      WHERE
        t1.tenant = $tenant AND t1.type = $p0 AND HELIOS_TEXT_MATCH(t1.content, $p1)
    ) AS ids
    QUALIFY
      ROW_NUMBER() OVER (ORDER BY ids.id) <= $p2
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
        t1.id
      FROM resource_text AS t1
      WHERE
        t1.tenant = $tenant AND t1.type = $p0 AND HELIOS_TEXT_MATCH(t1.content, $p1)
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "\"cardiac condition\""
--   p2 = 101
