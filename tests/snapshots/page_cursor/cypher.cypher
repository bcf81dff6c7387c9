-- Observation?code=http://loinc.org|8867-4&_count=5&_cursor=WyJPYnNlcnZhdGlvbiIsICJvYnMtMSJd
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.code = $p1 AND v1.system = $p2) AND ((r.type > $p3) OR (r.type = $p4 AND r.id > $p5)) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p6
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.code = $p1 AND v1.system = $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "code"
--   p1 = "8867-4"
--   p2 = "http://loinc.org"
--   p3 = "Observation"
--   p4 = "Observation"
--   p5 = "obs-1"
--   p6 = 6
