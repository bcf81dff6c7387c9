-- Observation?subject:Patient.organization.name=acme
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:REFERS {param: $p0}]->(t1:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (t1 {tenant: $tenant})-[:REFERS {param: $p1}]->(t2:Resource:`Organization` {tenant: $tenant, live: true})
MATCH (t2 {tenant: $tenant})-[:IDX]->(v3:Str {tenant: $tenant, param: $p2}) WHERE (v3.norm STARTS WITH $p3) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:REFERS {param: $p0}]->(t1:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (t1 {tenant: $tenant})-[:REFERS {param: $p1}]->(t2:Resource:`Organization` {tenant: $tenant, live: true})
MATCH (t2 {tenant: $tenant})-[:IDX]->(v3:Str {tenant: $tenant, param: $p2}) WHERE (v3.norm STARTS WITH $p3) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "subject"
--   p1 = "organization"
--   p2 = "name"
--   p3 = "acme"
--   p4 = 101
