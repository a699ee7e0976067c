"""Maintenance lifecycle and recurrence, the alert engine, auto incidents and drafts

Revision ID: e2261af2139d
Revises: 9c5897b4d891
Create Date: 2026-11-27 08:18:04.481870

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2261af2139d'
down_revision = '9c5897b4d891'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('secret', sa.String(length=500), nullable=True),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_channels'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('monitor_type', sa.String(length=20), nullable=False),
    sa.Column('monitor_id', sa.Integer(), nullable=False),
    sa.Column('monitor_name', sa.String(length=200), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('release_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_alerts_monitor', ['monitor_type', 'monitor_id', 'created_at'], unique=False)
        batch_op.create_index('ix_alerts_status_release', ['status', 'release_at'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_deliveries_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['channel_id'], ['alert_channels.id'], name=op.f('fk_alert_deliveries_channel_id_alert_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries'))
    )
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_deliveries_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_deliveries_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_alert_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_incident', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('draft', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_incidents_draft'), ['draft'], unique=False)

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announced_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('recurrence_frequency', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('recurrence_interval', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('recurrence_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('successor_scheduled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_maintenance_windows_series_id'), ['series_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_maintenance_windows_series_id_maintenance_windows'), 'maintenance_windows', ['series_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('page_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_incident_drafts', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():
    with op.batch_alter_table('page_settings', schema=None) as batch_op:
        batch_op.drop_column('auto_incident_drafts')

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_maintenance_windows_series_id_maintenance_windows'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_series_id'))
        batch_op.drop_column('successor_scheduled')
        batch_op.drop_column('series_id')
        batch_op.drop_column('recurrence_until')
        batch_op.drop_column('recurrence_interval')
        batch_op.drop_column('recurrence_frequency')
        batch_op.drop_column('announced_status')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_draft'))
        batch_op.drop_column('draft')
        batch_op.drop_column('auto')

    with op.batch_alter_table('components', schema=None) as batch_op:
        batch_op.drop_column('auto_incident')

    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_deliveries_due')
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_channel_id'))
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_alert_id'))

    op.drop_table('alert_deliveries')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_release')
        batch_op.drop_index('ix_alerts_monitor')
        batch_op.drop_index(batch_op.f('ix_alerts_created_at'))

    op.drop_table('alerts')
    op.drop_table('alert_channels')
