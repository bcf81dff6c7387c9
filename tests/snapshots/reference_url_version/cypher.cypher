-- QuestionnaireResponse?questionnaire=http://x.org/Q/1|2.0
MATCH (r:Resource:`QuestionnaireResponse` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.url = $p0 AND v1.version = $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`QuestionnaireResponse` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.url = $p0 AND v1.version = $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "http://x.org/Q/1"
--   p1 = "2.0"
--   p2 = "questionnaire"
--   p3 = 101
