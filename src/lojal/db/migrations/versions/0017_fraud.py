"""fraud guards: alerts; the enrolment's client address and the time of the last email or
phone change on members; a partial index of spends for the spend limits

Revision ID: 0016_fraud
Revises: 0013_keys
Create Date: 2026-12-03 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from lojal.db.types import BigIntId, JSONType, UTCDateTime

revision = "0016_fraud"
down_revision = "0016_journey_control"
branch_labels = None
depends_on = None

TIME = UTCDateTime(timezone=True)
KINDS = (
    "'earn_velocity', 'enrolments_per_address', 'referral_ring', 'referral_cluster', "
    "'large_adjustment', 'backdated_purchase'"
)


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrolment_address", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("identity_changed_at", TIME, nullable=True))
    op.create_index(
        "ix_members_enrolment_address_enrolled_at",
        "members",
        ["enrolment_address", "enrolled_at"],
        sqlite_where=sa.text("enrolment_address IS NOT NULL"),
        postgresql_where=sa.text("enrolment_address IS NOT NULL"),
    )
    op.create_index(
        "ix_journal_entries_member_id_recorded_at_spends",
        "journal_entries",
        ["member_id", "recorded_at"],
        sqlite_where=sa.text("kind = 'spend'"),
        postgresql_where=sa.text("kind = 'spend'"),
    )
    op.create_table(
        "fraud_alerts",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("member_id", BigIntId, nullable=True),
        sa.Column("details", JSONType, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_fraud_alerts_kind")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_fraud_alerts_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_fraud_alerts_key")),
    )
    op.create_index("ix_fraud_alerts_member_id", "fraud_alerts", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_fraud_alerts_member_id", table_name="fraud_alerts")
    op.drop_table("fraud_alerts")
    op.drop_index("ix_journal_entries_member_id_recorded_at_spends", table_name="journal_entries")
    op.drop_index("ix_members_enrolment_address_enrolled_at", table_name="members")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("identity_changed_at")
        batch_op.drop_column("enrolment_address")
