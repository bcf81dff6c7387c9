-- Patient?_has:Encounter:patient:_has:Condition:encounter:code=123
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:`patient`]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:`encounter`]-(s2:Resource:`Condition` {tenant: $tenant, live: true}) USING SCAN s2:`Condition` WHERE (any(i3 IN range(0, size(coalesce(s2[$p0], [])) - 1) WHERE s2[$p1][i3] = $p2)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:`patient`]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:`encounter`]-(s2:Resource:`Condition` {tenant: $tenant, live: true}) USING SCAN s2:`Condition` WHERE (any(i3 IN range(0, size(coalesce(s2[$p0], [])) - 1) WHERE s2[$p1][i3] = $p2)) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@code"
--   p1 = "@code.code"
--   p2 = "123"
--   p3 = 101
