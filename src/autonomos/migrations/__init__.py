"""Alembic migrations: ``core`` (every table) and ``vectors`` (the pgvector store, applied
only where pgvector is selected and installed). Each keeps its own version table."""
