"""audit chain, evidence hashes, retention and replays

Revision ID: 0002
Revises: 0001

Existing audit records are chained in id order and the chain head row is written. Existing
events get no ``event.recorded`` record here (their files are under the data directory, which
a migration does not know): ``gatewatch audit seal`` records them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gatewatch.models.types

# The chain as it was then: the payloads themselves chained (0017 chains their digests instead).
from gatewatch.audit.rechain import LEGACY_CHAINED_FIELDS as CHAINED_FIELDS
from gatewatch.audit.rechain import legacy_record_digest as record_digest
from gatewatch.audit.trail import GENESIS_SHA256

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auditchainhead',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('replayrun',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('video', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('footage_start', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('parameters', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('frames_done', sa.Integer(), nullable=False),
    sa.Column('frames_total', sa.Integer(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', gatewatch.models.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('replayrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replayrun_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_replayrun_source_key'), ['source_key'], unique=False)

    op.create_table('replayevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('occurred_at', gatewatch.models.types.UTCDateTime(), nullable=False),
    sa.Column('frame_index', sa.Integer(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['replayrun.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('replayevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replayevent_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('auditrecord', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index('ix_auditrecord_entity', ['entity', 'entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auditrecord_seq'), ['seq'], unique=True)

    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('clip_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('evidence_expired_at', gatewatch.models.types.UTCDateTime(), nullable=True))

    _chain_existing_records()


def _chain_existing_records() -> None:
    columns = [sa.column(name) for name in CHAINED_FIELDS if name != "at"]
    records = sa.table("auditrecord", *columns, sa.column("at", gatewatch.models.types.UTCDateTime()),
                       sa.column("sha256"))
    connection = op.get_bind()
    seq, previous = 0, GENESIS_SHA256
    rows = connection.execute(sa.select(records).order_by(records.c.id)).mappings().all()
    for row in rows:
        seq += 1
        values = {**row, "seq": seq, "prev_sha256": previous}
        previous = record_digest(values)
        connection.execute(records.update().where(records.c.id == row["id"])
                           .values(seq=seq, prev_sha256=values["prev_sha256"], sha256=previous))
    head = sa.table("auditchainhead", sa.column("id"), sa.column("seq"), sa.column("sha256"))
    connection.execute(head.insert().values(id=1, seq=seq, sha256=previous))


def downgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.drop_column('evidence_expired_at')
        batch_op.drop_column('clip_sha256')
        batch_op.drop_column('snapshot_sha256')

    with op.batch_alter_table('auditrecord', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auditrecord_seq'))
        batch_op.drop_index('ix_auditrecord_entity')
        batch_op.drop_column('sha256')
        batch_op.drop_column('prev_sha256')
        batch_op.drop_column('seq')

    with op.batch_alter_table('replayevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replayevent_run_id'))

    op.drop_table('replayevent')
    with op.batch_alter_table('replayrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replayrun_source_key'))
        batch_op.drop_index(batch_op.f('ix_replayrun_camera_id'))

    op.drop_table('replayrun')
    op.drop_table('auditchainhead')
