-- DiagnosticReport?subject.name=smith
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:`subject`]->(t1:Resource {tenant: $tenant, live: true}) WHERE t1.type IN $p2 AND (any(i2 IN range(0, size(coalesce(t1[$p0], [])) - 1) WHERE t1[$p0][i2] STARTS WITH $p1)) })
WITH r ORDER BY r.type, r.id
LIMIT $p3
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:`subject`]->(t1:Resource {tenant: $tenant, live: true}) WHERE t1.type IN $p2 AND (any(i2 IN range(0, size(coalesce(t1[$p0], [])) - 1) WHERE t1[$p0][i2] STARTS WITH $p1)) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@name"
--   p1 = "smith"
--   p2 = ["Location", "Patient"]
--   p3 = 101
