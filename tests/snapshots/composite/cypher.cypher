-- Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p1][i1] = $p2 AND r[$p0][i1] = $p3) AND ((r[$p4][i1] > $p5))))
WITH r ORDER BY r.type, r.id
LIMIT $p6
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource:`Observation` {tenant: $tenant, live: true}) WHERE (any(i1 IN range(0, size(coalesce(r[$p0], [])) - 1) WHERE (r[$p1][i1] = $p2 AND r[$p0][i1] = $p3) AND ((r[$p4][i1] > $p5)))) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = "@component-code-value-quantity$0"
--   p1 = "@component-code-value-quantity$0.code"
--   p2 = "8480-6"
--   p3 = "http://loinc.org"
--   p4 = "@component-code-value-quantity$1"
--   p5 = 140.0
--   p6 = 101
