-- Observation?date=ge2020&date=lt2021-01-01T10:00:00%2B02:00
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) WHERE (v1.high > $p1) AND (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Date {tenant: $tenant, param: $p0}) WHERE v2.low < $p2 }) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Date {tenant: $tenant, param: $p0}) WHERE (v1.high > $p1) AND (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v2:Date {tenant: $tenant, param: $p0}) WHERE v2.low < $p2 }) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "date"
--   p1 = 1577836800000000
--   p2 = 1609488000000000
--   p3 = 101
