-- Observation?code=http://loinc.org|
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.system = $p1) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.system = $p1) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "code"
--   p1 = "http://loinc.org"
--   p2 = 101
