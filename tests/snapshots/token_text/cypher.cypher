-- Observation?code:text=heart
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p3][i1] STARTS WITH $p1 OR r[$p3][i1] CONTAINS $p2)))
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p3][i1] STARTS WITH $p1 OR r[$p3][i1] CONTAINS $p2))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@code"
--   p1 = "heart"
--   p2 = " heart"
--   p3 = "@code.text"
--   p4 = 101
