-- 005: the multi-column statistics of 004 keep their MCV lists and drop their functional
-- dependencies. The MCV lists are what corrects the estimates 004 is about (an index row's
-- tenant, type, param and value combination, e.g. Encounter?status=finished), and every
-- query class of bench_postgres plans as well without the dependencies; but computing them
-- was most of the cost of ANALYZE (over four columns: idx_token 429 → 151 ms, idx_quantity
-- 418 → 173 ms, idx_reference 314 → 111 ms with 170,000 resources; all tables 2.1 → 1.2 s),
-- which the store now runs right after large writes (backends/postgres/statistics.py), as
-- autovacuum does during them. The statistics are filled by the next ANALYZE.
DROP STATISTICS IF EXISTS resources_stats, idx_string_stats, idx_token_stats, idx_date_stats,
    idx_number_stats, idx_quantity_stats, idx_reference_stats, idx_uri_stats;
CREATE STATISTICS resources_stats (mcv) ON tenant, type, deleted FROM resources;
CREATE STATISTICS idx_string_stats (mcv) ON tenant, type, param FROM idx_string;
CREATE STATISTICS idx_token_stats (mcv) ON tenant, type, param, code FROM idx_token;
CREATE STATISTICS idx_date_stats (mcv) ON tenant, type, param FROM idx_date;
CREATE STATISTICS idx_number_stats (mcv) ON tenant, type, param FROM idx_number;
CREATE STATISTICS idx_quantity_stats (mcv) ON tenant, type, param, canonical_unit FROM idx_quantity;
CREATE STATISTICS idx_reference_stats (mcv) ON tenant, type, param, target_type FROM idx_reference;
CREATE STATISTICS idx_uri_stats (mcv) ON tenant, type, param FROM idx_uri;
