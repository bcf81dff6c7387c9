-- Observation?code:above=8867-4&code:not-in=ValueSet/vitals
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
      (
        i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
      )
      AND (
        i1.code = :p2
        OR (i1.system, i1.code) IN (
          SELECT
            c2.system,
            c2.ancestor
          FROM term_closure AS c2
          WHERE
            c2.tenant = :tenant AND c2.descendant = :p2
        )
      )
    )
    AND NOT i1.id IN (
      SELECT
        i3.id
      FROM idx_token AS i3
      WHERE
        (
          i3.tenant = :tenant AND i3.type = :p0 AND i3.param = :p1
        )
        AND (i3.system, i3.code) IN (
          SELECT
            e4.system,
            e4.code
          FROM term_expansion AS e4
          WHERE
            e4.tenant = :tenant AND e4.valueset = :p3
        )
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
    (
      r.id IN (
        SELECT
          i1.id
        FROM idx_token AS i1
        WHERE
          (
            i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p1
          )
          AND (
            i1.code = :p2
            OR (i1.system, i1.code) IN (
              SELECT
                c2.system,
                c2.ancestor
              FROM term_closure AS c2
              WHERE
                c2.tenant = :tenant AND c2.descendant = :p2
            )
          )
      )
    )
    AND (
      NOT r.id IN (
        SELECT
          i3.id
        FROM idx_token AS i3
        WHERE
          (
            i3.tenant = :tenant AND i3.type = :p0 AND i3.param = :p1
          )
          AND (i3.system, i3.code) IN (
            SELECT
              e4.system,
              e4.code
            FROM term_expansion AS e4
            WHERE
              e4.tenant = :tenant AND e4.valueset = :p3
          )
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "code"
--   p2 = "8867-4"
--   p3 = "ValueSet/vitals"
--   p4 = 101
