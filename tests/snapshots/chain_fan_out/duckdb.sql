-- DiagnosticReport?subject.name=smith
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
        r.id IN (
          SELECT
            i1.id
          FROM idx_reference AS i1
          WHERE
            (
              (
                i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p5
              )
              AND i1.target_type = $p1
            )
            AND i1.target_id IN (
              SELECT
                i3.id
              FROM idx_string AS i3
              WHERE
                (
                  i3.tenant = $tenant AND i3.type = $p1 AND i3.param = $p2
                )
                AND (
                  i3.norm >= $p3 AND i3.norm < $p4
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
                i4.tenant = $tenant AND i4.type = $p0 AND i4.param = $p5
              )
              AND i4.target_type = $p6
            )
            AND i4.target_id IN (
              SELECT
                i6.id
              FROM idx_string AS i6
              WHERE
                (
                  i6.tenant = $tenant AND i6.type = $p6 AND i6.param = $p2
                )
                AND (
                  i6.norm >= $p7 AND i6.norm < $p8
                )
            )
        )
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p9
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
        i1.id
      FROM idx_reference AS i1
      WHERE
        (
          (
            i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p5
          )
          AND i1.target_type = $p1
        )
        AND i1.target_id IN (
          SELECT
            i3.id
          FROM idx_string AS i3
          WHERE
            (
              i3.tenant = $tenant AND i3.type = $p1 AND i3.param = $p2
            )
            AND (
              i3.norm >= $p3 AND i3.norm < $p4
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
            i4.tenant = $tenant AND i4.type = $p0 AND i4.param = $p5
          )
          AND i4.target_type = $p6
        )
        AND i4.target_id IN (
          SELECT
            i6.id
          FROM idx_string AS i6
          WHERE
            (
              i6.tenant = $tenant AND i6.type = $p6 AND i6.param = $p2
            )
            AND (
              i6.norm >= $p7 AND i6.norm < $p8
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
