-- Patient?_has:Encounter:patient:_has:Condition:encounter:code=123
SELECT
  r.type,
  r.id,
  r.version,
  r.last_updated,
  r.json
FROM (
  SELECT DISTINCT
    i1.target_id
  FROM idx_reference AS i1
  WHERE
    (
      (
        i1.tenant = :tenant AND i1.type = :p1 AND i1.param = :p6
      )
      AND i1.target_type = :p0
    )
    AND i1.id IN (
      SELECT
        r2.id
      FROM resources AS r2
      WHERE
        (
          r2.tenant = :tenant AND r2.type = :p1 AND r2.deleted = 0
        )
        AND r2.id IN (
          SELECT
            i3.target_id
          FROM idx_reference AS i3
          WHERE
            (
              (
                i3.tenant = :tenant AND i3.type = :p2 AND i3.param = :p5
              )
              AND i3.target_type = :p1
            )
            AND i3.id IN (
              SELECT
                i5.id
              FROM idx_token AS i5
              WHERE
                (
                  i5.tenant = :tenant AND i5.type = :p2 AND i5.param = :p3
                ) AND i5.code = :p4
            )
        )
    )
  ORDER BY
    i1.target_id
  LIMIT :p7
) AS d
CROSS JOIN resources AS r
WHERE
  r.tenant = :tenant AND r.type = :p0 AND r.deleted = 0 AND r.id = d.target_id
ORDER BY
  d.target_id;

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
        i1.target_id
      FROM idx_reference AS i1
      WHERE
        (
          (
            i1.tenant = :tenant AND i1.type = :p1 AND i1.param = :p6
          )
          AND i1.target_type = :p0
        )
        AND i1.id IN (
          SELECT
            r2.id
          FROM resources AS r2
          WHERE
            (
              r2.tenant = :tenant AND r2.type = :p1 AND r2.deleted = 0
            )
            AND r2.id IN (
              SELECT
                i3.target_id
              FROM idx_reference AS i3
              WHERE
                (
                  (
                    i3.tenant = :tenant AND i3.type = :p2 AND i3.param = :p5
                  )
                  AND i3.target_type = :p1
                )
                AND i3.id IN (
                  SELECT
                    i5.id
                  FROM idx_token AS i5
                  WHERE
                    (
                      i5.tenant = :tenant AND i5.type = :p2 AND i5.param = :p3
                    ) AND i5.code = :p4
                )
            )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Patient"
--   p1 = "Encounter"
--   p2 = "Condition"
--   p3 = "code"
--   p4 = "123"
--   p5 = "encounter"
--   p6 = "patient"
--   p7 = 101
