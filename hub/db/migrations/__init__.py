"""Alembic migrations of the hub's database; run them with ``lienthong db upgrade``."""
