-- Patient?_lastUpdated=gt2024-01-01
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r.lastUpdated + 1) > $p0)
WITH r ORDER BY r.type, r.id
LIMIT $p1
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r.lastUpdated + 1) > $p0) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 1704153600000000
--   p1 = 101
