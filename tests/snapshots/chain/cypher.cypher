-- Observation?subject:Patient.organization.name=acme
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:`subject`]->(t1:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (t1 {tenant: $tenant})-[:`organization`]->(t2:Resource:`Organization` {tenant: $tenant, live: true}) WHERE (any(i3 IN range(0, size(coalesce(t2[$p0], [])) - 1) WHERE t2[$p0][i3] STARTS WITH $p1)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:`subject`]->(t1:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (t1 {tenant: $tenant})-[:`organization`]->(t2:Resource:`Organization` {tenant: $tenant, live: true}) WHERE (any(i3 IN range(0, size(coalesce(t2[$p0], [])) - 1) WHERE t2[$p0][i3] STARTS WITH $p1)) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@name"
--   p1 = "acme"
--   p2 = 101
