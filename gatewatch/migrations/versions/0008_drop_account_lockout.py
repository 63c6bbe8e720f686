"""logins: the per-account lockout gives way to throttles by address and username

Revision ID: 0008
Revises: 0007

``user.failed_logins`` and ``user.locked_until`` let a stranger keep an account locked; failures
are now counted in ``loginthrottle`` (0007). A downgrade brings the columns back empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', gatewatch.models.types.UTCDateTime(), nullable=True))
