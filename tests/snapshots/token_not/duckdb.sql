-- Observation?status:not=final
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
      r.id
    FROM resources AS r
    WHERE
      r.tenant = $tenant
      AND r.type = $p0
      AND r.deleted = 0
      AND (
        NOT (
          r.id IN (
            SELECT
              i1.id
            FROM idx_token AS i1
            WHERE
              (
                i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
              ) AND i1.code = $p2
          )
        )
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p3
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
    NOT (
      r.id IN (
        SELECT
          i1.id
        FROM idx_token AS i1
        WHERE
          (
            i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
          ) AND i1.code = $p2
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "status"
--   p2 = "final"
--   p3 = 101
