-- Observation?subject:identifier=urn:mrn|7
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p3][i1] = $p4))
WITH r ORDER BY r.type, r.id
LIMIT $p5
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE r[$p1][i1] = $p2 AND r[$p3][i1] = $p4)) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@subject"
--   p1 = "@subject.identifier_value"
--   p2 = "7"
--   p3 = "@subject.identifier_system"
--   p4 = "urn:mrn"
--   p5 = 101
