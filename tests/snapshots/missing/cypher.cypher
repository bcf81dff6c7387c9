-- Patient?birthdate:missing=true&gender:missing=false
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r[$p0] IS NULL) AND (r[$p1] IS NOT NULL))
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((r[$p0] IS NULL) AND (r[$p1] IS NOT NULL)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@birthdate"
--   p1 = "@gender"
--   p2 = 101
