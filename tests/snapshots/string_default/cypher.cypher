-- Patient?name=m%C3%BCller
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p0}) WHERE (v1.norm STARTS WITH $p1) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Str {tenant: $tenant, param: $p0}) WHERE (v1.norm STARTS WITH $p1) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "name"
--   p1 = "muller"
--   p2 = 101
