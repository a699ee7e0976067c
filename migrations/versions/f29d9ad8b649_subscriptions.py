"""Subscriptions: chosen components, confirmations, manage tokens, the delivery ledger, reminders,
what subscribers last heard of each incident

Revision ID: f29d9ad8b649
Revises: e2261af2139d
Create Date: 2026-11-27 08:21:05.468392

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f29d9ad8b649'
down_revision = 'e2261af2139d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_notification_deliveries_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('event_id', 'subscriber_id', name=op.f('uq_notification_deliveries_event_id'))
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_deliveries_subscriber_id'), ['subscriber_id'], unique=False)

    op.create_table('subscription_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_subscription_confirmations_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_subscription_confirmations_token_hash'))
    )
    with op.batch_alter_table('subscription_confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_confirmations_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_confirmations_subscriber_id'), ['subscriber_id'], unique=False)

    op.create_table('subscriber_components',
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_subscriber_components_component_id_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_subscriber_components_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscriber_id', 'component_id', name=op.f('pk_subscriber_components'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailed_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_notify_pending', ['notify', 'notified_at'], unique=False)

    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('manage_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('undeliverable_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_subscribers_manage_token'), ['manage_token'])



def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('mailed_at')
        batch_op.drop_column('mailed_status')

    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_subscribers_manage_token'), type_='unique')
        batch_op.drop_column('last_error')
        batch_op.drop_column('undeliverable_at')
        batch_op.drop_column('manage_token')
        batch_op.drop_column('confirmed_at')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_notify_pending')
        batch_op.drop_column('notified_at')
        batch_op.drop_column('notify')

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    op.drop_table('subscriber_components')
    with op.batch_alter_table('subscription_confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_confirmations_subscriber_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_confirmations_expires_at'))

    op.drop_table('subscription_confirmations')
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_subscriber_id'))

    op.drop_table('notification_deliveries')
