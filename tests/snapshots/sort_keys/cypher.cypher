-- Patient?_sort=family,-birthdate&_count=10&_offset=20
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
CALL (r) { UNWIND coalesce(r[$p0], []) AS x1 RETURN min(CASE WHEN x1 <> $p1 THEN x1 END) AS k0 }
CALL (r) { UNWIND coalesce(r[$p2], []) AS x2 RETURN max(CASE WHEN x2 <> $p1 THEN x2 END) AS k1 }
WITH r, k0, k1 ORDER BY k0 IS NULL, k0, k1 IS NULL, k1 DESC, r.type, r.id
SKIP $p3
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) RETURN count(r) AS total

-- paging: offset
-- params:
--   p0 = "@family"
--   p1 = "\u0000"
--   p2 = "@birthdate.high"
--   p3 = 20
--   p4 = 11
