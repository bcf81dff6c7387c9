-- RiskAssessment?probability=ap0.5
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Num {tenant: $tenant, param: $p0}) WHERE (v1.value >= $p1 AND v1.value <= $p2) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`RiskAssessment` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Num {tenant: $tenant, param: $p0}) WHERE (v1.value >= $p1 AND v1.value <= $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "probability"
--   p1 = 0.45
--   p2 = 0.55
--   p3 = 101
