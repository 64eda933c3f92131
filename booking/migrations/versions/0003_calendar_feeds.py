"""Calendar feeds: SEQUENCE on events, books and sessions; private feed tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('human_books', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('program_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_feed_token_hash'), ['feed_token_hash'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_feed_token_hash'), type_='unique')
        batch_op.drop_column('feed_token_hash')

    with op.batch_alter_table('program_sessions', schema=None) as batch_op:
        batch_op.drop_column('sequence')

    with op.batch_alter_table('human_books', schema=None) as batch_op:
        batch_op.drop_column('sequence')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('sequence')
