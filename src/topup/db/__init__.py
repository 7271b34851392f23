"""Storage: engine set-up for SQLite and PostgreSQL, shared metadata, migrations, unit of work."""
