"""The store: one set of SQLAlchemy Core tables on SQLite or PostgreSQL."""
