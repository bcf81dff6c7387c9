-- DiagnosticReport?subject.name=smith
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
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p5)s
          )
          AND i1.target_type = %(p1)s
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_string AS i3
          WHERE
            (
              i3.tenant = %(tenant)s AND i3.type = %(p1)s AND i3.param = %(p2)s
            )
            AND (
              i3.norm >= %(p3)s AND i3.norm < %(p4)s
            )
        )
    )
    OR r.id IN (
      SELECT
        i4.id
      FROM idx_reference AS i4
      WHERE
        (
          (
            i4.tenant = %(tenant)s AND i4.type = %(p0)s AND i4.param = %(p5)s
          )
          AND i4.target_type = %(p6)s
        )
        AND i4.target_id IN (
          SELECT
            i6.id
          FROM idx_string AS i6
          WHERE
            (
              i6.tenant = %(tenant)s AND i6.type = %(p6)s AND i6.param = %(p2)s
            )
            AND (
              i6.norm >= %(p7)s AND i6.norm < %(p8)s
            )
        )
    )
  )
ORDER BY
  r.type ASC,
  r.id ASC
LIMIT %(p9)s;

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
            i1.tenant = %(tenant)s AND i1.type = %(p0)s AND i1.param = %(p5)s
          )
          AND i1.target_type = %(p1)s
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_string AS i3
          WHERE
            (
              i3.tenant = %(tenant)s AND i3.type = %(p1)s AND i3.param = %(p2)s
            )
            AND (
              i3.norm >= %(p3)s AND i3.norm < %(p4)s
            )
        )
    )
    OR r.id IN (
      SELECT
        i4.id
      FROM idx_reference AS i4
      WHERE
        (
          (
            i4.tenant = %(tenant)s AND i4.type = %(p0)s AND i4.param = %(p5)s
          )
          AND i4.target_type = %(p6)s
        )
        AND i4.target_id IN (
          SELECT
            i6.id
          FROM idx_string AS i6
          WHERE
            (
              i6.tenant = %(tenant)s AND i6.type = %(p6)s AND i6.param = %(p2)s
            )
            AND (
              i6.norm >= %(p7)s AND i6.norm < %(p8)s
            )
        )
    )
  );

-- paging: keyset
-- params:
--   p0 = "DiagnosticReport"
--   p1 = "Location"
--   p2 = "name"
--   p3 = "smith"
--   p4 = "smith􏿿"
--   p5 = "subject"
--   p6 = "Patient"
--   p7 = "smith"
--   p8 = "smith􏿿"
--   p9 = 101
