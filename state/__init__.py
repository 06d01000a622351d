"""Persistence: the SQLAlchemy 2.x checkpoint store (SQLite by default, PostgreSQL)."""
