-- Observation?date=ap2020
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) WHERE (v1.low < $p1 AND v1.high > $p2) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) WHERE (v1.low < $p1 AND v1.high > $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "date"
--   p1 = 1612621440000000
--   p2 = 1574674560000000
--   p3 = 101
