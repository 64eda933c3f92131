"""Seats held back for walk-ins at the desk, one number per event.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walk_in_seats_per_reading', sa.Integer(),
                                      server_default='0', nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_events_walk_in_seats_not_negative'),
            'walk_in_seats_per_reading >= 0',
        )


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_events_walk_in_seats_not_negative'),
                                 type_='check')
        batch_op.drop_column('walk_in_seats_per_reading')
