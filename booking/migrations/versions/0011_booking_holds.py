"""Booking holds: the pending status, hold expiry and client, remembered patrons, and the
outbox flag for anonymously triggered messages (capped per recipient)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OLD_STATUSES = ('confirmed', 'waitlisted', 'cancelled', 'attended', 'no_show')
NEW_STATUSES = ('pending', *OLD_STATUSES)


def _status_check(statuses) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_bookings_booking_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_bookings_booking_status'),
                                         _status_check(NEW_STATUSES))
        batch_op.add_column(sa.Column('hold_expires_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('hold_client', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_bookings_status_hold_expires_at',
                              ['status', 'hold_expires_at'], unique=False)
        batch_op.create_index('ix_bookings_event_id_hold_client', ['event_id', 'hold_client'],
                              unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index('ix_outbox_created_at', ['created_at'], unique=False)

    op.create_table(
        'remembered_patrons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email_normalized', sa.String(length=254), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_remembered_patrons')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_remembered_patrons_token_hash')),
    )
    with op.batch_alter_table('remembered_patrons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remembered_patrons_email_normalized'),
                              ['email_normalized'], unique=False)
        batch_op.create_index(batch_op.f('ix_remembered_patrons_last_used_at'),
                              ['last_used_at'], unique=False)


def downgrade():
    with op.batch_alter_table('remembered_patrons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remembered_patrons_last_used_at'))
        batch_op.drop_index(batch_op.f('ix_remembered_patrons_email_normalized'))
    op.drop_table('remembered_patrons')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_created_at')
        batch_op.drop_column('anonymous')

    # Holds cannot be kept under the old statuses: a hold that was never confirmed is gone,
    # and the seats it held are free again (slots.booked counts only seats still held).
    op.execute("UPDATE slots SET booked = booked - (SELECT COALESCE(SUM(bookings.seats), 0) "
               "FROM bookings WHERE bookings.slot_id = slots.id AND bookings.status = 'pending' "
               "AND bookings.waitlist_position IS NULL)")
    op.execute("UPDATE bookings SET status = 'cancelled', waitlist_position = NULL "
               "WHERE status = 'pending'")
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_event_id_hold_client')
        batch_op.drop_index('ix_bookings_status_hold_expires_at')
        batch_op.drop_column('hold_client')
        batch_op.drop_column('hold_expires_at')
        batch_op.drop_constraint(batch_op.f('ck_bookings_booking_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_bookings_booking_status'),
                                         _status_check(OLD_STATUSES))
