-- Observation?value-quantity=gt5.4||mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p0][i1] > $p1) AND (r[$p3][i1] = $p2 OR r[$p4][i1] = $p2)))
WITH r ORDER BY r.type, r.id
LIMIT $p5
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p0][i1] > $p1) AND (r[$p3][i1] = $p2 OR r[$p4][i1] = $p2))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@value-quantity"
--   p1 = 5.4
--   p2 = "mg"
--   p3 = "@value-quantity.code"
--   p4 = "@value-quantity.unit"
--   p5 = 101
