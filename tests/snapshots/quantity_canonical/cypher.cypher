-- Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p7}) WHERE (v1.canonical_unit = $p4 AND (v1.canonical_value >= $p5 AND v1.canonical_value < $p6)) OR ((v1.value >= $p0 AND v1.value < $p1) AND v1.system = $p2 AND v1.code = $p3) })
WITH r ORDER BY r.type, r.id
LIMIT $p8
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Qty {tenant: $tenant, param: $p7}) WHERE (v1.canonical_unit = $p4 AND (v1.canonical_value >= $p5 AND v1.canonical_value < $p6)) OR ((v1.value >= $p0 AND v1.value < $p1) AND v1.system = $p2 AND v1.code = $p3) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 5.35
--   p1 = 5.45
--   p2 = "http://unitsofmeasure.org"
--   p3 = "mg"
--   p4 = "g"
--   p5 = 0.00535
--   p6 = 0.00545
--   p7 = "value-quantity"
--   p8 = 101
