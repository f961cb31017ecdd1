"""The user's music library: catalogue (SQLite), vector index (hnswlib), scanning and queries."""
