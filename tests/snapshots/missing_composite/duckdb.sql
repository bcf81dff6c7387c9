-- Observation?component-code-value-quantity:missing=true
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
            FROM idx_string AS i1
            WHERE
              i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
          )
          OR r.id IN (
            SELECT
              i2.id
            FROM idx_token AS i2
            WHERE
              i2.tenant = $tenant AND i2.type = $p0 AND i2.param = $p1
          )
          OR r.id IN (
            SELECT
              i3.id
            FROM idx_date AS i3
            WHERE
              i3.tenant = $tenant AND i3.type = $p0 AND i3.param = $p1
          )
          OR r.id IN (
            SELECT
              i4.id
            FROM idx_number AS i4
            WHERE
              i4.tenant = $tenant AND i4.type = $p0 AND i4.param = $p1
          )
          OR r.id IN (
            SELECT
              i5.id
            FROM idx_quantity AS i5
            WHERE
              i5.tenant = $tenant AND i5.type = $p0 AND i5.param = $p1
          )
          OR r.id IN (
            SELECT
              i6.id
            FROM idx_reference AS i6
            WHERE
              i6.tenant = $tenant AND i6.type = $p0 AND i6.param = $p1
          )
          OR r.id IN (
            SELECT
              i7.id
            FROM idx_uri AS i7
            WHERE
              i7.tenant = $tenant AND i7.type = $p0 AND i7.param = $p1
          )
        )
      )
    ORDER BY
      r.type ASC,
      r.id ASC
    LIMIT $p2
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
        FROM idx_string AS i1
        WHERE
          i1.tenant = $tenant AND i1.type = $p0 AND i1.param = $p1
      )
      OR r.id IN (
        SELECT
          i2.id
        FROM idx_token AS i2
        WHERE
          i2.tenant = $tenant AND i2.type = $p0 AND i2.param = $p1
      )
      OR r.id IN (
        SELECT
          i3.id
        FROM idx_date AS i3
        WHERE
          i3.tenant = $tenant AND i3.type = $p0 AND i3.param = $p1
      )
      OR r.id IN (
        SELECT
          i4.id
        FROM idx_number AS i4
        WHERE
          i4.tenant = $tenant AND i4.type = $p0 AND i4.param = $p1
      )
      OR r.id IN (
        SELECT
          i5.id
        FROM idx_quantity AS i5
        WHERE
          i5.tenant = $tenant AND i5.type = $p0 AND i5.param = $p1
      )
      OR r.id IN (
        SELECT
          i6.id
        FROM idx_reference AS i6
        WHERE
          i6.tenant = $tenant AND i6.type = $p0 AND i6.param = $p1
      )
      OR r.id IN (
        SELECT
          i7.id
        FROM idx_uri AS i7
        WHERE
          i7.tenant = $tenant AND i7.type = $p0 AND i7.param = $p1
      )
    )
  );

-- paging: keyset
-- params:
--   p0 = "Observation"
--   p1 = "component-code-value-quantity$0"
--   p2 = 101
