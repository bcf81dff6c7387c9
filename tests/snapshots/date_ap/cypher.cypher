-- Observation?date=ap2020
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p2}) WHERE v1.low < $p0 AND v1.high > $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p2}) WHERE v1.low < $p0 AND v1.high > $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 1612621440000000
--   p1 = 1574674560000000
--   p2 = "date"
--   p3 = 101
