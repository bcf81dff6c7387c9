-- Patient?_sort=family,-birthdate&_count=10&_offset=20
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
CALL (r) { OPTIONAL MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p0}) RETURN min(v1.norm) AS k0 }
CALL (r) { OPTIONAL MATCH (r {tenant: $tenant})-[:IDX]->(v2:Date {tenant: $tenant, param: $p1}) RETURN max(v2.high) AS k1 }
WITH r, k0, k1 ORDER BY k0 IS NULL, k0, k1 IS NULL, k1 DESC, r.type, r.id
SKIP $p2
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) RETURN count(r) AS total

-- paging: offset
-- params:
--   p0 = "family"
--   p1 = "birthdate"
--   p2 = 20
--   p3 = 11
