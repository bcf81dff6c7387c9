-- Patient?name:exact=M%C3%BCller
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2))
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@name"
--   p1 = "@name.exact"
--   p2 = "Müller"
--   p3 = 101
