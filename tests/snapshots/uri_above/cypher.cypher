-- ValueSet?url:above=http://example.org/fhir/ValueSet/a
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE $p1 STARTS WITH r[$p0][i1]))
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`ValueSet` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE $p1 STARTS WITH r[$p0][i1])) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@url"
--   p1 = "http://example.org/fhir/ValueSet/a"
--   p2 = 101
