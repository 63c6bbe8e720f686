"""a gate's working day: authorisation schedules and members, passages, flag items, posted crossings

Revision ID: 0006
Revises: 0005

Authorisations' validity becomes site dates (both days included) with a weekly schedule. The
stored validity instants are turned into dates in the site's zone when the caller hands it over
(``config.attributes["zone"]``, as ``gatewatch.models.db.migrate`` does), else in UTC. Existing
authorisations get every weekday and no hours: valid all day, as before. New event columns are
nullable: events stored before have no passage, no structured flag items and no posted id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import context, op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _site_date(value: datetime | str, zone) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def _dates_in_zone() -> None:
    zone = context.config.attributes.get("zone") or UTC
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, valid_from, valid_until FROM authorisation")).all()
    for row_id, valid_from, valid_until in rows:
        connection.execute(
            sa.text("UPDATE authorisation SET valid_from_day = :f, valid_until_day = :u WHERE id = :i"),
            {"f": _site_date(valid_from, zone), "u": _site_date(valid_until, zone), "i": row_id},
        )


def upgrade() -> None:
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('plates', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('weekdays', sa.String(length=32), nullable=False,
                                      server_default='1,2,3,4,5,6,7'))
        batch_op.add_column(sa.Column('start_time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('end_time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('valid_from_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('valid_until_day', sa.Date(), nullable=True))
    _dates_in_zone()
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorisation_valid_from'))
        batch_op.drop_index(batch_op.f('ix_authorisation_valid_until'))
        batch_op.drop_column('valid_from')
        batch_op.drop_column('valid_until')
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.alter_column('valid_from_day', new_column_name='valid_from', existing_type=sa.Date(),
                              nullable=False)
        batch_op.alter_column('valid_until_day', new_column_name='valid_until', existing_type=sa.Date(),
                              nullable=False)
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorisation_valid_from'), ['valid_from'], unique=False)
        batch_op.create_index(batch_op.f('ix_authorisation_valid_until'), ['valid_until'], unique=False)
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_items', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('passage_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source_id', sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_entryevent_passage_id'), ['passage_id'], unique=False)
        batch_op.create_unique_constraint('uq_event_source_id', ['camera_id', 'source_id'])


def downgrade() -> None:
    with op.batch_alter_table('entryevent', schema=None) as batch_op:
        batch_op.drop_constraint('uq_event_source_id', type_='unique')
        batch_op.drop_index(batch_op.f('ix_entryevent_passage_id'))
        batch_op.drop_column('source_id')
        batch_op.drop_column('passage_id')
        batch_op.drop_column('flag_items')
    with op.batch_alter_table('authorisation', schema=None) as batch_op:
        batch_op.alter_column('valid_from', type_=sa.DateTime(), existing_type=sa.Date())
        batch_op.alter_column('valid_until', type_=sa.DateTime(), existing_type=sa.Date())
        for column in ('ended_by', 'ended_at', 'end_time', 'start_time', 'weekdays', 'plates', 'members'):
            batch_op.drop_column(column)
