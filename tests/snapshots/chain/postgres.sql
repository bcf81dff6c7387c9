-- Observation?subject:Patient.organization.name=acme
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
        i1.id
      FROM idx_reference AS i1
      WHERE
        (
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p7)s
          )
          AND i1.target_type = %(p1)s
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_reference AS i3
          WHERE
            (
              (
                i3.tenant = %(tenant)s AND i3.type = %(p1)s AND i3.param = %(p6)s
              )
              AND i3.target_type = %(p2)s
            )
            AND i3.target_id IN (
              SELECT
                i5.id
              FROM idx_string AS i5
              WHERE
                (
                  i5.tenant = %(tenant)s AND i5.type = %(p2)s AND i5.param = %(p3)s
                )
                AND (
                  i5.norm >= %(p4)s AND i5.norm < %(p5)s
                )
            )
        )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p8)s;

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
        i1.id
      FROM idx_reference AS i1
      WHERE
        (
          (
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p7)s
          )
          AND i1.target_type = %(p1)s
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_reference AS i3
          WHERE
            (
              (
                i3.tenant = %(tenant)s AND i3.type = %(p1)s AND i3.param = %(p6)s
              )
              AND i3.target_type = %(p2)s
            )
            AND i3.target_id IN (
              SELECT
                i5.id
              FROM idx_string AS i5
              WHERE
                (
                  i5.tenant = %(tenant)s AND i5.type = %(p2)s AND i5.param = %(p3)s
                )
                AND (
                  i5.norm >= %(p4)s AND i5.norm < %(p5)s
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
