-- Patient?_id=a,b
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r.id = $p0) OR (r.id = $p1))
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r.id = $p0) OR (r.id = $p1)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "a"
--   p1 = "b"
--   p2 = 101
