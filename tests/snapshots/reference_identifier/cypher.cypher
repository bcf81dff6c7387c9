-- Observation?subject:identifier=urn:mrn|7
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.identifier_value = $p0 AND v1.identifier_system = $p1 })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Ref {tenant: $tenant, param: $p2}) WHERE v1.identifier_value = $p0 AND v1.identifier_system = $p1 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "7"
--   p1 = "urn:mrn"
--   p2 = "subject"
--   p3 = 101
