-- ValueSet?url:above=http://example.org/fhir/ValueSet/a
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Uri {tenant: $tenant, param: $p1}) WHERE $p0 STARTS WITH v1.uri })
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:IDX]->(v1:Uri {tenant: $tenant, param: $p1}) WHERE $p0 STARTS WITH v1.uri }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "http://example.org/fhir/ValueSet/a"
--   p1 = "url"
--   p2 = 101
