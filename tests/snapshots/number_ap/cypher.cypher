-- RiskAssessment?probability=ap0.5
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] >= $p1 AND r[$p0][i1] <= $p2))
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p0][i1] >= $p1 AND r[$p0][i1] <= $p2)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@probability"
--   p1 = 0.45
--   p2 = 0.55
--   p3 = 101
