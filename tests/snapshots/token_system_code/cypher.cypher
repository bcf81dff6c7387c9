-- Observation?code=http://loinc.org|8867-4
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p2}) WHERE v1.code = $p0 AND v1.system = $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p2}) WHERE v1.code = $p0 AND v1.system = $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "8867-4"
--   p1 = "http://loinc.org"
--   p2 = "code"
--   p3 = 101
