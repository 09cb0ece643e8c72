"""tiers and paid memberships: member_tiers, tier_changes, membership_plans, memberships,
revenue_records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:41:55.090493
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lojal.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "membership_plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=5), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "interval IN ('year', 'month')", name=op.f("ck_membership_plans_interval")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'retired')", name=op.f("ck_membership_plans_status")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_membership_plans_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_membership_plans_code")),
    )
    op.create_table(
        "member_tiers",
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("qualified_tier", sa.String(length=32), nullable=True),
        sa.Column("qualified_since", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("in_grace", sa.Boolean(), nullable=False),
        sa.Column("grace_to", sa.String(length=32), nullable=True),
        sa.Column("paid_tier", sa.String(length=32), nullable=True),
        sa.Column("paid_until", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_tiers_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_tiers")),
    )
    with op.batch_alter_table("member_tiers", schema=None) as batch_op:
        batch_op.create_index("ix_member_tiers_review_at", ["review_at"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("renews_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=10), nullable=True),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('lapsed', 'cancelled')",
            name=op.f("ck_memberships_end_reason"),
        ),
        sa.CheckConstraint("status IN ('active', 'ended')", name=op.f("ck_memberships_status")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_memberships_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["membership_plans.id"],
            name=op.f("fk_memberships_plan_id_membership_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_memberships_active_member_id",
            ["member_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index("ix_memberships_member_id_id", ["member_id", "id"], unique=False)
        batch_op.create_index(
            "ix_memberships_status_renews_at", ["status", "renews_at"], unique=False
        )

    op.create_table(
        "tier_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_tier", sa.String(length=32), nullable=True),
        sa.Column("to_tier", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("effective_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "reason IN ('joined', 'qualified', 'period_end', 'grace', 'paid_membership', 'lapse', 'manual')",
            name=op.f("ck_tier_changes_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_tier_changes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_changes")),
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index("ix_tier_changes_member_id_id", ["member_id", "id"], unique=False)

    op.create_table(
        "revenue_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "membership_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_start", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('membership_fee')", name=op.f("ck_revenue_records_kind")),
        sa.CheckConstraint(
            "amount_minor >= 0", name=op.f("ck_revenue_records_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_revenue_records_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_revenue_records_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["membership_plans.id"],
            name=op.f("fk_revenue_records_plan_id_membership_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_records")),
        sa.UniqueConstraint("kind", "reference", name=op.f("uq_revenue_records_kind_reference")),
    )
    with op.batch_alter_table("revenue_records", schema=None) as batch_op:
        batch_op.create_index("ix_revenue_records_member_id", ["member_id"], unique=False)
        batch_op.create_index("ix_revenue_records_occurred_at", ["occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revenue_records", schema=None) as batch_op:
        batch_op.drop_index("ix_revenue_records_occurred_at")
        batch_op.drop_index("ix_revenue_records_member_id")

    op.drop_table("revenue_records")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_tier_changes_member_id_id")

    op.drop_table("tier_changes")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_status_renews_at")
        batch_op.drop_index("ix_memberships_member_id_id")
        batch_op.drop_index(
            "ix_memberships_active_member_id",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.drop_table("memberships")
    with op.batch_alter_table("member_tiers", schema=None) as batch_op:
        batch_op.drop_index("ix_member_tiers_review_at")

    op.drop_table("member_tiers")
    op.drop_table("membership_plans")
