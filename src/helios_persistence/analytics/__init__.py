"""The analytics half: Bulk Data export (:mod:`.jobs`, :mod:`.export`), the Parquet layout
(:mod:`.layout`, :mod:`.writer`; documented in ``dialects/duckdb/README.md``) and DuckDB over
an export (:mod:`.lake`: ``hp.open_analytics``)."""
