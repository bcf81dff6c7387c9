-- ValueSet?url:above=http://example.org/fhir/ValueSet/a
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Uri {tenant: $tenant, param: $p0}) WHERE ($p1 STARTS WITH v1.uri) WITH DISTINCT r
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true})
MATCH (r {tenant: $tenant})-[:IDX]->(v1:Uri {tenant: $tenant, param: $p0}) WHERE ($p1 STARTS WITH v1.uri) WITH DISTINCT r RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "url"
--   p1 = "http://example.org/fhir/ValueSet/a"
--   p2 = 101
