-- ?_type=Patient,Organization&_id=a
MATCH (r:Resource {tenant: $tenant, live: true}) WHERE r.type IN $p0 AND (r.id = $p1)
WITH r ORDER BY r.type, r.id
LIMIT $p2
RETURN r.type AS type, r.id AS id, r.version AS version, r.lastUpdated AS last_updated, r.json AS json

-- count
MATCH (r:Resource {tenant: $tenant, live: true}) WHERE r.type IN $p0 AND (r.id = $p1) RETURN count(r) AS total

-- paging: keyset
-- params:
--   p0 = ["Patient", "Organization"]
--   p1 = "a"
--   p2 = 101
