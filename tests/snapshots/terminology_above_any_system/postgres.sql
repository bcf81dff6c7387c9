-- Observation?code:above=8867-4&code:not-in=ValueSet/vitals
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
    (
      r.id IN (
        SELECT
          i1.id
        FROM idx_token AS i1
        WHERE
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
          )
          AND (
            i1.code = %(p2)s
            OR (i1.system, i1.code) IN (
              SELECT
                c2.system,
                c2.ancestor
              FROM term_closure AS c2
              WHERE
                c2.tenant = %(tenant)s AND c2.descendant = %(p2)s
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
            i3.tenant = %(tenant)s AND i3.type = %(p0)s AND i3.param = %(p1)s
          )
          AND (i3.system, i3.code) IN (
            SELECT
              e4.system,
              e4.code
            FROM term_expansion AS e4
            WHERE
              e4.tenant = %(tenant)s
              AND e4.valueset = HELIOS_VALUESET_KEY(%(tenant)s, CAST(%(p3)s AS TEXT))
          )
      )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p4)s;

-- count
SELECT
  COUNT(*)
FROM resources AS r
WHERE
  r.tenant = %(tenant)s
  AND r.type = %(p0)s
  AND r.deleted = 0
  AND (
    (
      r.id IN (
        SELECT
          i1.id
        FROM idx_token AS i1
        WHERE
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p1)s
          )
          AND (
            i1.code = %(p2)s
            OR (i1.system, i1.code) IN (
              SELECT
                c2.system,
                c2.ancestor
              FROM term_closure AS c2
              WHERE
                c2.tenant = %(tenant)s AND c2.descendant = %(p2)s
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
            i3.tenant = %(tenant)s AND i3.type = %(p0)s AND i3.param = %(p1)s
          )
          AND (i3.system, i3.code) IN (
            SELECT
              e4.system,
              e4.code
            FROM term_expansion AS e4
            WHERE
              e4.tenant = %(tenant)s
              AND e4.valueset = HELIOS_VALUESET_KEY(%(tenant)s, CAST(%(p3)s AS TEXT))
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
