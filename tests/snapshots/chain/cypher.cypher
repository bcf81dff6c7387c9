-- Observation?subject:Patient.organization.name=acme
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p3}]->(t1:Resource:`Patient` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t1 {tenant: $tenant})-[:REFERS {param: $p2}]->(t2:Resource:`Organization` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t2 {tenant: $tenant})-[:IDX]->(v3:Str {tenant: $tenant, param: $p1}) WHERE v3.norm STARTS WITH $p0 } } })
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p3}]->(t1:Resource:`Patient` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t1 {tenant: $tenant})-[:REFERS {param: $p2}]->(t2:Resource:`Organization` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t2 {tenant: $tenant})-[:IDX]->(v3:Str {tenant: $tenant, param: $p1}) WHERE v3.norm STARTS WITH $p0 } } }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "acme"
--   p1 = "name"
--   p2 = "organization"
--   p3 = "subject"
--   p4 = 101
