-- Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Comp {tenant: $tenant, param: $p5}) WHERE EXISTS { MATCH (v1 {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p2}) WHERE v2.code = $p0 AND v2.system = $p1 } AND EXISTS { MATCH (v1 {tenant: $tenant})-[:IDX]->(v3:Qty {tenant: $tenant, param: $p4}) WHERE (v3.value > $p3) } })
WITH r ORDER BY r.type, r.id
LIMIT $p6
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Comp {tenant: $tenant, param: $p5}) WHERE EXISTS { MATCH (v1 {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p2}) WHERE v2.code = $p0 AND v2.system = $p1 } AND EXISTS { MATCH (v1 {tenant: $tenant})-[:IDX]->(v3:Qty {tenant: $tenant, param: $p4}) WHERE (v3.value > $p3) } }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "8480-6"
--   p1 = "http://loinc.org"
--   p2 = "component-code-value-quantity$0"
--   p3 = 140.0
--   p4 = "component-code-value-quantity$1"
--   p5 = "component-code-value-quantity"
--   p6 = 101
