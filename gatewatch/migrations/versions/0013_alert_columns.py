"""alerts and metrics: the camera's lag, drops, detections and tampering; each user's alert sound

Revision ID: 0013
Revises: 0012

/metrics serves each camera's figures from its status row (the web app never touches video), the
cameras page shows a tampered camera, and a user may turn the alert sound off.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place, as 0012: copying ``camera`` or ``user`` would break the rows that refer to them.
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('lag_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('dropped_frames', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('detections', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tampered', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('tamper_note', sa.String(length=500), nullable=True))
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('alert_sound', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    # In place, as 0011: copying ``camera`` would drop the table every event refers to.
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('alert_sound')
    with op.batch_alter_table('camera', schema=None, recreate='never') as batch_op:
        for name in ('tamper_note', 'tampered', 'detections', 'dropped_frames', 'lag_seconds'):
            batch_op.drop_column(name)
