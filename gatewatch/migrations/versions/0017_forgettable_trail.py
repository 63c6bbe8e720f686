"""a trail that can forget: payload digests chained instead of payloads, NIKs masked; visits' erasure time

Revision ID: 0017
Revises: 0016

Each audit record gets ``digests`` (what the chain now covers) and ``salts`` (of its personal
fields' digests), and every record is converted once (``gatewatch.audit.rechain.convert``): its
payloads with every NIK in clear masked and a reference to the visit, the chain rebuilt in the
same order, and an ``audit.rechained`` record naming the old chain's head. Visits get
``personal_erased_at``, set when retention erases the visitor's personal fields.

The downgrade chains the records as before, their payloads as they now are (masked, erased).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gatewatch.models.types
from gatewatch.audit.rechain import convert, legacy_chain
from gatewatch.models.types import utcnow
from gatewatch.visitors.nik_display import masked_nik

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auditrecord', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('digests', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('salts', sa.Text(), nullable=True))
    with op.batch_alter_table('visit', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('personal_erased_at', gatewatch.models.types.UTCDateTime(), nullable=True))
    convert(op.get_bind(), now=utcnow(), mask=masked_nik)


def downgrade() -> None:
    legacy_chain(op.get_bind())
    with op.batch_alter_table('visit', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('personal_erased_at')
    with op.batch_alter_table('auditrecord', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('salts')
        batch_op.drop_column('digests')
