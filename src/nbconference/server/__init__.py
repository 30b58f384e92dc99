"""Signaling server: Jupyter extension, standalone app, room registry and backends."""
