-- Patient?_has:Encounter:patient:_has:Condition:encounter:code=123
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:REFERS {param: $p0}]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:REFERS {param: $p1}]-(s2:Resource:`Condition` {tenant: $tenant, live: true})
MATCH (s2 {tenant: $tenant})-[:IDX]->(v3:Tok {tenant: $tenant, param: $p2}) WHERE (v3.code = $p3) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:REFERS {param: $p0}]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:REFERS {param: $p1}]-(s2:Resource:`Condition` {tenant: $tenant, live: true})
MATCH (s2 {tenant: $tenant})-[:IDX]->(v3:Tok {tenant: $tenant, param: $p2}) WHERE (v3.code = $p3) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "patient"
--   p1 = "encounter"
--   p2 = "code"
--   p3 = "123"
--   p4 = 101
