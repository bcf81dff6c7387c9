-- Patient?_filter=name sw %22sm%22 and (gender eq female or birthdate lt 1980)
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] STARTS WITH $p1)) AND ((any(i2 IN range(0, size(coalesce(r[$p2], [])) - 1) WHERE r[$p3][i2] = $p4)) OR (any(i3 IN range(0, size(coalesce(r[$p5], [])) - 1) WHERE r[$p5][i3] < $p7))))
WITH r ORDER BY r.type, r.id
LIMIT $p8
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE ((any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] STARTS WITH $p1)) AND ((any(i2 IN range(0, size(coalesce(r[$p2], [])) - 1) WHERE r[$p3][i2] = $p4)) OR (any(i3 IN range(0, size(coalesce(r[$p5], [])) - 1) WHERE r[$p5][i3] < $p7)))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@name"
--   p1 = "sm"
--   p2 = "@gender"
--   p3 = "@gender.code"
--   p4 = "female"
--   p5 = "@birthdate"
--   p6 = "@birthdate.high"
--   p7 = 315532800000000
--   p8 = 101
