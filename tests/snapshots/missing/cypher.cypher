-- Patient?birthdate:missing=true&gender:missing=false
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((NOT EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) }) AND (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p1}) }))
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((NOT EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) }) AND (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p1}) })) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "birthdate"
--   p1 = "gender"
--   p2 = 101
