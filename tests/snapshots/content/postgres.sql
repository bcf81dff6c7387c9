-- Patient?_content=%22cardiac condition%22
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
        t1.id
      FROM resource_text AS t1
      WHERE
        t1.tenant = %(tenant)s
        AND t1.type = %(p0)s
        AND t1.content @@ CAST(%(p1)s AS tsquery)
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p2)s;

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
        t1.id
      FROM resource_text AS t1
      WHERE
        t1.tenant = %(tenant)s
        AND t1.type = %(p0)s
        AND t1.content @@ CAST(%(p1)s AS tsquery)
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "('cardiac' <-> 'condit')"
--   p2 = 101
