-- Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p3}) WHERE v1.type_system = $p0 AND v1.type_code = $p1 AND v1.code = $p2 })
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p3}) WHERE v1.type_system = $p0 AND v1.type_code = $p1 AND v1.code = $p2 }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "http://terminology.hl7.org/CodeSystem/v2-0203"
--   p1 = "MR"
--   p2 = "1"
--   p3 = "identifier"
--   p4 = 101
