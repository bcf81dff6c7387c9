-- Observation?subject=Patient/1
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.target_id = $p1 AND v1.target_type = $p2) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.target_id = $p1 AND v1.target_type = $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "subject"
--   p1 = "1"
--   p2 = "Patient"
--   p3 = 101
