-- Observation?value-quantity=gt5.4||mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p2}) WHERE (v1.value > $p0) AND (v1.code = $p1 OR v1.unit = $p1) })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p2}) WHERE (v1.value > $p0) AND (v1.code = $p1 OR v1.unit = $p1) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 5.4
--   p1 = "mg"
--   p2 = "value-quantity"
--   p3 = 101
