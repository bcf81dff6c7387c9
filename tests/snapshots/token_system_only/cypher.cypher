-- Observation?code=http://loinc.org|
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p1}) WHERE v1.system = $p0 })
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p1}) WHERE v1.system = $p0 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "http://loinc.org"
--   p1 = "code"
--   p2 = 101
