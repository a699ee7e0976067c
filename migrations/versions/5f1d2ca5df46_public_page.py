"""The public page, complete: postmortems, branding, language, uptime days

Revision ID: 5f1d2ca5df46
Revises: f29d9ad8b649
Create Date: 2026-11-27 09:17:16.321157

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f1d2ca5df46'
down_revision = 'f29d9ad8b649'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postmortem', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('page_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('accent_color', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('announcement', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('footer_links', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('theme', sa.String(length=10), nullable=False, server_default='auto'))
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=False, server_default='en'))
        batch_op.add_column(sa.Column('uptime_days', sa.Integer(), nullable=False, server_default='90'))



def downgrade():
    with op.batch_alter_table('page_settings', schema=None) as batch_op:
        batch_op.drop_column('uptime_days')
        batch_op.drop_column('language')
        batch_op.drop_column('theme')
        batch_op.drop_column('footer_links')
        batch_op.drop_column('announcement')
        batch_op.drop_column('accent_color')
        batch_op.drop_column('logo_type')
        batch_op.drop_column('logo')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('postmortem')

