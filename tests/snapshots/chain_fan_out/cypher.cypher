-- DiagnosticReport?subject.name=smith
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p3}]->(t1:Resource {tenant: $tenant, live: true}) WHERE t1.type IN $p2 AND (EXISTS { MATCH (t1 {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p0 }) })
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p3}]->(t1:Resource {tenant: $tenant, live: true}) WHERE t1.type IN $p2 AND (EXISTS { MATCH (t1 {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p0 }) }) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "smith"
--   p1 = "name"
--   p2 = ["Location", "Patient"]
--   p3 = "subject"
--   p4 = 101
