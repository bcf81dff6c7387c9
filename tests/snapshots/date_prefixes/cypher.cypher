-- Observation?date=ge2020&date=lt2021-01-01T10:00:00%2B02:00
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] > $p2)) AND (any(i2 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i2] < $p3)))
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] > $p2)) AND (any(i2 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i2] < $p3))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@date"
--   p1 = "@date.high"
--   p2 = 1577836800000000
--   p3 = 1609488000000000
--   p4 = 101
