-- Observation?subject:Patient.organization.name=acme
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
      (
        i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p7
      )
      AND i1.target_type = :p1
    )
    AND i1.target_id IN (
      SELECT
        i3.id
      FROM idx_reference AS i3
      WHERE
        (
          (
            i3.tenant = :tenant AND i3.type = :p1 AND i3.param = :p6
          )
          AND i3.target_type = :p2
        )
        AND i3.target_id IN (
          SELECT
            i5.id
          FROM idx_string AS i5
          WHERE
            (
              i5.tenant = :tenant AND i5.type = :p2 AND i5.param = :p3
            )
            AND (
              i5.norm >= :p4 AND i5.norm < :p5
            )
        )
    )
  ORDER BY
    i1.id
  LIMIT :p8
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
          (
            i1.tenant = :tenant AND i1.type = :p0 AND i1.param = :p7
          )
          AND i1.target_type = :p1
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_reference AS i3
          WHERE
            (
              (
                i3.tenant = :tenant AND i3.type = :p1 AND i3.param = :p6
              )
              AND i3.target_type = :p2
            )
            AND i3.target_id IN (
              SELECT
                i5.id
              FROM idx_string AS i5
              WHERE
                (
                  i5.tenant = :tenant AND i5.type = :p2 AND i5.param = :p3
                )
                AND (
                  i5.norm >= :p4 AND i5.norm < :p5
                )
            )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "Patient"
--   p2 = "Organization"
--   p3 = "name"
--   p4 = "acme"
--   p5 = "acme􏿿"
--   p6 = "organization"
--   p7 = "subject"
--   p8 = 101
