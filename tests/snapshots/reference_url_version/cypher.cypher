-- QuestionnaireResponse?questionnaire=http://x.org/Q/1|2.0
MATCH (r:Resource:`QuestionnaireResponse` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.url = $p1 AND v1.version = $p2) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`QuestionnaireResponse` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.url = $p1 AND v1.version = $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "questionnaire"
--   p1 = "http://x.org/Q/1"
--   p2 = "2.0"
--   p3 = 101
