-- Patient?_sort=-_lastUpdated&_count=5
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
WITH r ORDER BY r.lastUpdated IS NULL, r.lastUpdated DESC, r.type, r.id
LIMIT $p0
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 6
