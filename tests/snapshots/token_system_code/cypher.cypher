-- Observation?code=http://loinc.org|8867-4
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p0][i1] = $p3))
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p0][i1] = $p3)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@code"
--   p1 = "@code.code"
--   p2 = "8867-4"
--   p3 = "http://loinc.org"
--   p4 = 101
