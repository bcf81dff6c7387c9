-- Observation?subject:identifier=urn:mrn|7
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.identifier_value = $p1 AND v1.identifier_system = $p2) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p0}) WHERE (v1.identifier_value = $p1 AND v1.identifier_system = $p2) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "subject"
--   p1 = "7"
--   p2 = "urn:mrn"
--   p3 = 101
