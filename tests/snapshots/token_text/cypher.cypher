-- Observation?code:text=heart
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p2}) WHERE (v1.text STARTS WITH $p0 OR v1.text CONTAINS $p1) })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p2}) WHERE (v1.text STARTS WITH $p0 OR v1.text CONTAINS $p1) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "heart"
--   p1 = " heart"
--   p2 = "code"
--   p3 = 101
