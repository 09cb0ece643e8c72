"""coupons and rewards: campaigns, codes, redemptions, the guard's attempts; the rewards
catalogue, its redemptions and partner code pools

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:42:24.638034
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lojal.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupon_attempts",
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_coupon_attempts")),
    )
    op.create_table(
        "coupon_campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hashtag", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("offer_kind", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("max_discount_minor", sa.BigInteger(), nullable=True),
        sa.Column("product_sku", sa.String(length=64), nullable=True),
        sa.Column("min_spend_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "skus",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "categories",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_from", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uses_per_code", sa.Integer(), nullable=True),
        sa.Column("uses_per_member", sa.Integer(), nullable=True),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "stores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("restore_on_return", sa.Boolean(), nullable=False),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("code_prefix", sa.String(length=12), nullable=False),
        sa.Column("check_character", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "offer_kind IN ('amount', 'percent', 'product')",
            name=op.f("ck_coupon_campaigns_offer_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('campaign', 'reward')", name=op.f("ck_coupon_campaigns_source")
        ),
        sa.CheckConstraint(
            "uses_per_code IS NULL OR uses_per_code > 0",
            name=op.f("ck_coupon_campaigns_uses_per_code"),
        ),
        sa.CheckConstraint(
            "uses_per_member IS NULL OR uses_per_member > 0",
            name=op.f("ck_coupon_campaigns_uses_per_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_campaigns")),
        sa.UniqueConstraint("revision", name=op.f("uq_coupon_campaigns_revision")),
    )
    op.create_table(
        "coupon_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("generated", sa.Integer(), nullable=False),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupon_batches_campaign_id_coupon_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_batches")),
        sa.UniqueConstraint("campaign_id", "key", name=op.f("uq_coupon_batches_campaign_id_key")),
    )
    op.create_table(
        "coupon_campaign_stats",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("validations", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupon_campaign_stats_campaign_id_coupon_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_coupon_campaign_stats")),
    )
    op.create_table(
        "coupon_member_uses",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "uses >= 0 AND held >= 0", name=op.f("ck_coupon_member_uses_uses_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupon_member_uses_campaign_id_coupon_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_coupon_member_uses_member_id_members")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "member_id", name=op.f("pk_coupon_member_uses")),
    )
    op.create_table(
        "rewards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points_price", sa.BigInteger(), nullable=True),
        sa.Column("valid_from", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column(
            "tiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("limit_per_member", sa.Integer(), nullable=True),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("coupon_valid_days", sa.Integer(), nullable=True),
        sa.Column("min_points", sa.BigInteger(), nullable=True),
        sa.Column("max_points", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('coupon', 'product', 'partner', 'experience', 'points_payment')",
            name=op.f("ck_rewards_kind"),
        ),
        sa.CheckConstraint(
            "points_price IS NULL OR points_price > 0", name=op.f("ck_rewards_price_positive")
        ),
        sa.CheckConstraint(
            "stock IS NULL OR stock >= 0", name=op.f("ck_rewards_stock_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_rewards_campaign_id_coupon_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
        sa.UniqueConstraint("code", name=op.f("uq_rewards_code")),
    )
    op.create_table(
        "coupon_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("issued_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "uses >= 0 AND held >= 0", name=op.f("ck_coupon_codes_uses_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["coupon_batches.id"],
            name=op.f("fk_coupon_codes_batch_id_coupon_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupon_codes_campaign_id_coupon_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_coupon_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_codes_code")),
    )
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.create_index("ix_coupon_codes_campaign_id_id", ["campaign_id", "id"], unique=False)
        batch_op.create_index(
            "ix_coupon_codes_member_id",
            ["member_id"],
            unique=False,
            sqlite_where=sa.text("member_id IS NOT NULL"),
            postgresql_where=sa.text("member_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ux_coupon_codes_campaign_id_reference",
            ["campaign_id", "reference"],
            unique=True,
            sqlite_where=sa.text("reference IS NOT NULL"),
            postgresql_where=sa.text("reference IS NOT NULL"),
        )

    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("basket_total_minor", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("store_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('reserved', 'redeemed', 'released', 'expired', 'restored')",
            name=op.f("ck_coupon_redemptions_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["coupon_campaigns.id"],
            name=op.f("fk_coupon_redemptions_campaign_id_coupon_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["coupon_codes.id"],
            name=op.f("fk_coupon_redemptions_code_id_coupon_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_coupon_redemptions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint(
            "code_id", "order_id", name=op.f("uq_coupon_redemptions_code_id_order_id")
        ),
        sa.UniqueConstraint(
            "code_id", "reference", name=op.f("uq_coupon_redemptions_code_id_reference")
        ),
    )
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupon_redemptions_campaign_id_state", ["campaign_id", "state"], unique=False
        )
        batch_op.create_index("ix_coupon_redemptions_order_id", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_coupon_redemptions_state_expires_at", ["state", "expires_at"], unique=False
        )

    op.create_table(
        "reward_redemptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "reward_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "coupon_code_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_code_id"],
            ["coupon_codes.id"],
            name=op.f("fk_reward_redemptions_coupon_code_id_coupon_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_reward_redemptions_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_reward_redemptions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_reward_redemptions_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_redemptions")),
        sa.UniqueConstraint("key", name=op.f("uq_reward_redemptions_key")),
    )
    with op.batch_alter_table("reward_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reward_redemptions_member_id_reward_id", ["member_id", "reward_id"], unique=False
        )

    op.create_table(
        "partner_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "reward_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("imported_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "redemption_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("assigned_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_partner_codes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["reward_redemptions.id"],
            name=op.f("fk_partner_codes_redemption_id_reward_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_partner_codes_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_codes")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_partner_codes_redemption_id")),
        sa.UniqueConstraint("reward_id", "code", name=op.f("uq_partner_codes_reward_id_code")),
    )
    with op.batch_alter_table("partner_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partner_codes_free",
            ["reward_id", "id"],
            unique=False,
            sqlite_where=sa.text("redemption_id IS NULL"),
            postgresql_where=sa.text("redemption_id IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_partner_codes_free",
            sqlite_where=sa.text("redemption_id IS NULL"),
            postgresql_where=sa.text("redemption_id IS NULL"),
        )

    op.drop_table("partner_codes")
    with op.batch_alter_table("reward_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_redemptions_member_id_reward_id")

    op.drop_table("reward_redemptions")
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_redemptions_state_expires_at")
        batch_op.drop_index("ix_coupon_redemptions_order_id")
        batch_op.drop_index("ix_coupon_redemptions_campaign_id_state")

    op.drop_table("coupon_redemptions")
    with op.batch_alter_table("coupon_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_coupon_codes_campaign_id_reference",
            sqlite_where=sa.text("reference IS NOT NULL"),
            postgresql_where=sa.text("reference IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_coupon_codes_member_id",
            sqlite_where=sa.text("member_id IS NOT NULL"),
            postgresql_where=sa.text("member_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_coupon_codes_campaign_id_id")

    op.drop_table("coupon_codes")
    op.drop_table("rewards")
    op.drop_table("coupon_member_uses")
    op.drop_table("coupon_campaign_stats")
    op.drop_table("coupon_batches")
    op.drop_table("coupon_campaigns")
    op.drop_table("coupon_attempts")
