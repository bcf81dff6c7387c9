-- Patient?_sort=family,-birthdate&_count=10&_offset=20
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM resources AS r
WHERE
  r.tenant = $tenant AND r.type = $p0 AND r.deleted = 0
ORDER BY
  (
    SELECT
      MIN(s1.norm)
    FROM idx_string AS s1
    WHERE
      s1.tenant = r.tenant AND s1.type = r.type AND s1.id = r.id AND s1.param = $p1
  ) ASC,
  (
    SELECT
      MAX(s2.high)
    FROM idx_date AS s2
    WHERE
      s2.tenant = r.tenant AND s2.type = r.type AND s2.id = r.id AND s2.param = $p2
  ) DESC,
  r.type ASC,
  r.id ASC
LIMIT $p3
OFFSET $p4;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = $tenant AND r.type = $p0 AND r.deleted = 0;

-- paging: offset
-- params:
--   p0 = "Patient"
--   p1 = "family"
--   p2 = "birthdate"
--   p3 = 11
--   p4 = 20
