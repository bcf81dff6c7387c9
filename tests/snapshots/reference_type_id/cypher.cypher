-- Observation?subject=Patient/1
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.target_id = $p0 AND v1.target_type = $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.target_id = $p0 AND v1.target_type = $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "1"
--   p1 = "Patient"
--   p2 = "subject"
--   p3 = 101
