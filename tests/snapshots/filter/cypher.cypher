-- Patient?_filter=name sw %22sm%22 and (gender eq female or birthdate lt 1980)
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p0}) WHERE (v1.norm STARTS WITH $p1) AND ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p3}) WHERE v2.code = $p2 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v3:Date {tenant: $tenant, param: $p5}) WHERE v3.low < $p4 })) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p6
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p0}) WHERE (v1.norm STARTS WITH $p1) AND ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Tok {tenant: $tenant, param: $p3}) WHERE v2.code = $p2 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v3:Date {tenant: $tenant, param: $p5}) WHERE v3.low < $p4 })) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "name"
--   p1 = "sm"
--   p2 = "female"
--   p3 = "gender"
--   p4 = 315532800000000
--   p5 = "birthdate"
--   p6 = 101
