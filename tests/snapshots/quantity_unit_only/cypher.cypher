-- Observation?value-quantity=gt5.4||mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p0}) WHERE ((v1.value > $p1) AND (v1.code = $p2 OR v1.unit = $p2)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p0}) WHERE ((v1.value > $p1) AND (v1.code = $p2 OR v1.unit = $p2)) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "value-quantity"
--   p1 = 5.4
--   p2 = "mg"
--   p3 = 101
