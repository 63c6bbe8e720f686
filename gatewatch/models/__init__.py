"""The database: SQLModel tables, the enums their columns hold, engines and sessions, shared SQL.

Owns the schema (``tables``), the stored values (``enums``, which import nothing, so
``gatewatch.vision`` may name a direction), engines, sessions and Alembic upgrades (``db``), and
what every query shares (filters, SQL expressions). Imports ``settings`` and ``plates`` only.
"""
