"""The Elasticsearch backend: a search secondary (``store.ElasticsearchStore``)."""
