"""The migrations build the schema the code declares: a column added to a table without its
migration (or the other way round) fails here, on both databases, before it fails on a site."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import gatewatch.models.tables  # noqa: F401 - registers every table on SQLModel.metadata


def _same_type(_context: object, _inspected_column: object, _declared_column: object,
               inspected: sa.types.TypeEngine, declared: sa.types.TypeEngine) -> bool | None:
    """SQLModel declares free text as a VARCHAR without length; the migrations make it TEXT: the same."""
    if isinstance(inspected, sa.Text) and isinstance(declared, (sa.String, AutoString)) and declared.length is None:
        return False
    return None  # alembic's own comparison


def test_migrated_database_matches_the_tables(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": _same_type})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
