-- Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.type_system = $p1 AND v1.type_code = $p2 AND v1.code = $p3) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Patient` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Tok {tenant: $tenant, param: $p0}) WHERE (v1.type_system = $p1 AND v1.type_code = $p2 AND v1.code = $p3) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "identifier"
--   p1 = "http://terminology.hl7.org/CodeSystem/v2-0203"
--   p2 = "MR"
--   p3 = "1"
--   p4 = 101
