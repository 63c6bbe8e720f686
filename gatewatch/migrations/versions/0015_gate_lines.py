"""gate lines saved from the page: the camera's line in force, and the line each event was counted against

Revision ID: 0015
Revises: 0014

An admin may move a camera's gate line on its picture; the saved line then wins over the YAML's
(``camera.gate_lines``). Each event keeps the line it was counted against, so a reviewer sees
why a crossing counted as an entry even after the line has moved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_UTC = gatewatch.models.types.UTCDateTime


def upgrade() -> None:
    # In place, as 0012: copying ``camera`` or ``entryevent`` would break the rows that refer to them.
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('gate_line', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('gate_line_saved_at', _UTC(), nullable=True))
        batch_op.add_column(sa.Column('gate_line_saved_by', sa.String(length=100), nullable=True))
    with op.batch_alter_table('entryevent', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('gate_line', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('gate_line')
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        for name in ('gate_line_saved_by', 'gate_line_saved_at', 'gate_line'):
            batch_op.drop_column(name)
