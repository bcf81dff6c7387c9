-- RiskAssessment?probability=ap0.5
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Num {tenant: $tenant, param: $p2}) WHERE v1.value >= $p0 AND v1.value <= $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Num {tenant: $tenant, param: $p2}) WHERE v1.value >= $p0 AND v1.value <= $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = 0.45
--   p1 = 0.55
--   p2 = "probability"
--   p3 = 101
