-- Encounter?status=finished&_include=Encounter:subject&_revinclude=Observation:encounter&_count=10
MATCH (r:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.code = $p1) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.code = $p1) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "status"
--   p1 = "finished"
--   p2 = 11
