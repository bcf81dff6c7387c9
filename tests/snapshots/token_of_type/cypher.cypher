-- Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p3][i1] = $p4 AND r[$p5][i1] = $p6))
WITH r ORDER BY r.type, r.id
LIMIT $p7
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p3][i1] = $p4 AND r[$p5][i1] = $p6)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@identifier"
--   p1 = "@identifier.type_system"
--   p2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
--   p3 = "@identifier.type_code"
--   p4 = "MR"
--   p5 = "@identifier.code"
--   p6 = "1"
--   p7 = 101
