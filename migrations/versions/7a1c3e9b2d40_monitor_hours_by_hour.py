"""Monitor hours indexed by hour, for the retention prune

Revision ID: 7a1c3e9b2d40
Revises: 5f1d2ca5df46
Create Date: 2026-11-27 15:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7a1c3e9b2d40'
down_revision = '5f1d2ca5df46'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('monitor_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitor_hours_hour'), ['hour'], unique=False)


def downgrade():
    with op.batch_alter_table('monitor_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitor_hours_hour'))
