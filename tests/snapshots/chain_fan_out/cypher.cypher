-- DiagnosticReport?subject.name=smith
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p2}]->(t1:Resource:`Location` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t1 {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p0 } }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p2}]->(t3:Resource:`Patient` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t3 {tenant: $tenant})-[:IDX]->(v4:Str {tenant: $tenant, param: $p1}) WHERE v4.norm STARTS WITH $p3 } }))
WITH r ORDER BY r.type, r.id
LIMIT $p4
RETURN r.type AS type, r.id AS id, r.versionId AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`DiagnosticReport` {tenant: $tenant, live: true}) WHERE ((EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p2}]->(t1:Resource:`Location` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t1 {tenant: $tenant})-[:IDX]->(v2:Str {tenant: $tenant, param: $p1}) WHERE v2.norm STARTS WITH $p0 } }) OR (EXISTS { MATCH (r {tenant: $tenant})-[:REFERS {param: $p2}]->(t3:Resource:`Patient` {tenant: $tenant, live: true}) WHERE EXISTS { MATCH (t3 {tenant: $tenant})-[:IDX]->(v4:Str {tenant: $tenant, param: $p1}) WHERE v4.norm STARTS WITH $p3 } })) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "smith"
--   p1 = "name"
--   p2 = "subject"
--   p3 = "smith"
--   p4 = 101
