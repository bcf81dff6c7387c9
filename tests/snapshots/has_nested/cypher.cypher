-- Patient?_has:Encounter:patient:_has:Condition:encounter:code=123
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:$($p0)]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:$($p1)]-(s2:Resource:`Condition` {tenant: $tenant, live: true}) WHERE (any(i3 IN range(0, size(coalesce(s2[$p2], [])) - 1) WHERE s2[$p3][i3] = $p4)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p5
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})<-[:$($p0)]-(s1:Resource:`Encounter` {tenant: $tenant, live: true})
MATCH (s1 {tenant: $tenant})<-[:$($p1)]-(s2:Resource:`Condition` {tenant: $tenant, live: true}) WHERE (any(i3 IN range(0, size(coalesce(s2[$p2], [])) - 1) WHERE s2[$p3][i3] = $p4)) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "patient"
--   p1 = "encounter"
--   p2 = "@code"
--   p3 = "@code.code"
--   p4 = "123"
--   p5 = 101
