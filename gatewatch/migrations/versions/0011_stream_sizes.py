"""the camera's stream sizes: its main stream's and its detect stream's, as the worker opened them

Revision ID: 0011
Revises: 0010

The camera page warns when a detect stream makes the smallest objects too small for the
detector; only the worker knows the two streams' sizes, so it writes them here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = ('frame_width', 'frame_height', 'detect_width', 'detect_height')


def upgrade() -> None:
    with op.batch_alter_table('camera', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite drops these plain columns in place: copying the table instead would drop ``camera``,
    # which every event's foreign key refers to.
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
