-- Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p7][i1] = $p8 AND (r[$p9][i1] >= $p10 AND r[$p9][i1] < $p11)) OR ((r[$p0][i1] >= $p1 AND r[$p0][i1] < $p2) AND r[$p3][i1] = $p4 AND r[$p5][i1] = $p6)))
WITH r ORDER BY r.type, r.id
LIMIT $p12
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p7][i1] = $p8 AND (r[$p9][i1] >= $p10 AND r[$p9][i1] < $p11)) OR ((r[$p0][i1] >= $p1 AND r[$p0][i1] < $p2) AND r[$p3][i1] = $p4 AND r[$p5][i1] = $p6))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@value-quantity"
--   p1 = 5.35
--   p2 = 5.45
--   p3 = "@value-quantity.system"
--   p4 = "http://unitsofmeasure.org"
--   p5 = "@value-quantity.code"
--   p6 = "mg"
--   p7 = "@value-quantity.canonical_unit"
--   p8 = "g"
--   p9 = "@value-quantity.canonical_value"
--   p10 = 0.00535
--   p11 = 0.00545
--   p12 = 101
