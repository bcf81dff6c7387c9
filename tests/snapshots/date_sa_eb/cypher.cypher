-- Observation?date=sa2020,eb2019
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p1}) WHERE v1.low >= $p0 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Date {tenant: $tenant, param: $p1}) WHERE v2.high <= $p2 }))
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p1}) WHERE v1.low >= $p0 }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Date {tenant: $tenant, param: $p1}) WHERE v2.high <= $p2 })) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 1609459200000000
--   p1 = "date"
--   p2 = 1546300800000000
--   p3 = 101
