-- Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p0}) WHERE ((v1.canonical_unit = $p5 AND (v1.canonical_value >= $p6 AND v1.canonical_value < $p7)) OR ((v1.value >= $p1 AND v1.value < $p2) AND v1.system = $p3 AND v1.code = $p4)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p8
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p0}) WHERE ((v1.canonical_unit = $p5 AND (v1.canonical_value >= $p6 AND v1.canonical_value < $p7)) OR ((v1.value >= $p1 AND v1.value < $p2) AND v1.system = $p3 AND v1.code = $p4)) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "value-quantity"
--   p1 = 5.35
--   p2 = 5.45
--   p3 = "http://unitsofmeasure.org"
--   p4 = "mg"
--   p5 = "g"
--   p6 = 0.00535
--   p7 = 0.00545
--   p8 = 101
