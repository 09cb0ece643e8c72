"""referrals: members' referral codes and the referrals they made

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import lojal.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "referral_codes",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_referral_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_codes_code")),
    )
    op.create_table(
        "referrals",
        sa.Column("id", ID, nullable=False),
        sa.Column("advocate_id", ID, nullable=False),
        sa.Column("referee_id", ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("referred_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("qualifying_purchase_id", ID, nullable=True),
        sa.Column("qualifying_order_id", sa.String(length=128), nullable=True),
        sa.Column("qualified_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("matures_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rewarded_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("advocate_points", sa.BigInteger(), nullable=False),
        sa.Column("referee_points", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'qualified', 'rewarded', 'refused', 'capped', 'voided')",
            name=op.f("ck_referrals_status"),
        ),
        sa.CheckConstraint("source IN ('enrolment', 'claim')", name=op.f("ck_referrals_source")),
        sa.CheckConstraint(
            "advocate_points >= 0 AND referee_points >= 0", name=op.f("ck_referrals_points")
        ),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["members.id"], name=op.f("fk_referrals_advocate_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["referee_id"], ["members.id"], name=op.f("fk_referrals_referee_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["qualifying_purchase_id"],
            ["purchases.id"],
            name=op.f("fk_referrals_qualifying_purchase_id_purchases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("referee_id", name=op.f("uq_referrals_referee_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referrals_advocate_id_status", ["advocate_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_referrals_status_matures_at", ["status", "matures_at"], unique=False
        )
        batch_op.create_index(
            "ix_referrals_qualifying_purchase_id", ["qualifying_purchase_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_qualifying_purchase_id")
        batch_op.drop_index("ix_referrals_status_matures_at")
        batch_op.drop_index("ix_referrals_advocate_id_status")
    op.drop_table("referrals")
    op.drop_table("referral_codes")
