"""What every SQL backend shares: the relational index model, the search runner, the history
and outbox queries, and the reindex loop. Engine-specific code lives in the engine's own
package (``backends/sqlite``, ``backends/postgres``)."""
