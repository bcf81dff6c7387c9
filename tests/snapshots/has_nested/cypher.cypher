-- Patient?_has:Encounter:patient:_has:Condition:encounter:code=123
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (s1:Resource:`Encounter` {tenant: $tenant, live: true})-[:REFERS {param: $p3}]->(r {tenant: $tenant}) WHERE EXISTS { MATCH (s2:Resource:`Condition` {tenant: $tenant, live: true})-[:REFERS {param: $p2}]->(s1 {tenant: $tenant}) WHERE EXISTS { MATCH (s2 {tenant: $tenant})-[:IDX]->(v3:Tok {tenant: $tenant, param: $p1}) WHERE v3.code = $p0 } } })
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (s1:Resource:`Encounter` {tenant: $tenant, live: true})-[:REFERS {param: $p3}]->(r {tenant: $tenant}) WHERE EXISTS { MATCH (s2:Resource:`Condition` {tenant: $tenant, live: true})-[:REFERS {param: $p2}]->(s1 {tenant: $tenant}) WHERE EXISTS { MATCH (s2 {tenant: $tenant})-[:IDX]->(v3:Tok {tenant: $tenant, param: $p1}) WHERE v3.code = $p0 } } }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "123"
--   p1 = "code"
--   p2 = "encounter"
--   p3 = "patient"
--   p4 = 101
