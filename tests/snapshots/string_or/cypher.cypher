-- Patient?name=smith,jones
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p1}) WHERE v1.norm STARTS WITH $p0 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p2 }))
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p1}) WHERE v1.norm STARTS WITH $p0 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p2 })) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "smith"
--   p1 = "name"
--   p2 = "jones"
--   p3 = 101
