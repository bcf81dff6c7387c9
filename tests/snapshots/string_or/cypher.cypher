-- Patient?name=smith,jones
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] STARTS WITH $p1)) OR (any(i2 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i2] STARTS WITH $p2)))
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] STARTS WITH $p1)) OR (any(i2 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i2] STARTS WITH $p2))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@name"
--   p1 = "smith"
--   p2 = "jones"
--   p3 = 101
