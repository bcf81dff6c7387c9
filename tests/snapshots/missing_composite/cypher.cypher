-- Observation?component-code-value-quantity:missing=true
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (NOT EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Comp {tenant: $tenant, param: $p0}) })
WITH r ORDER BY r.type, r.id
LIMIT $p1
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (NOT EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Comp {tenant: $tenant, param: $p0}) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "component-code-value-quantity"
--   p1 = 101
