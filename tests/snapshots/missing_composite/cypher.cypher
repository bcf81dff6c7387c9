-- Observation?component-code-value-quantity:missing=true
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (r[$p0] IS NULL)
WITH r ORDER BY r.type, r.id
LIMIT $p1
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (r[$p0] IS NULL) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@component-code-value-quantity$0"
--   p1 = 101
