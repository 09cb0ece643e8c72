"""recommendations and audiences: what a refit learnt of the items (recommendation_items,
recommendation_pairs), and the ``ads`` consent (matched in advertising audiences)

Revision ID: 0015_recs
Revises: 0014_insight
Create Date: 2026-12-14 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_recs"
down_revision = "0013_keys"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHANNELS = ("email", "sms", "push", "ads")
OLD_CHANNELS = ("email", "sms", "push")


def _channels(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_consents_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_consents_channel"), f"channel IN {allowed!r}")


def upgrade() -> None:
    _channels(CHANNELS)
    op.create_table(
        "recommendation_items",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("fit_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("baskets", sa.Integer(), nullable=False),
        sa.Column("repeat_buyers", sa.Integer(), nullable=False),
        sa.Column("repeat_rate", sa.Double(), nullable=False),
        sa.Column("interval_days", sa.Double(), nullable=True),
        sa.Column("share", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fit_id"],
            ["insight_fits.id"],
            name=op.f("fk_recommendation_items_fit_id_insight_fits"),
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_recommendation_items")),
    )
    op.create_table(
        "recommendation_pairs",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("other", sa.String(length=64), nullable=False),
        sa.Column("together", sa.Integer(), nullable=False),
        sa.Column("lift", sa.Double(), nullable=False),
        sa.Column("cosine", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("sku", "other", name=op.f("pk_recommendation_pairs")),
    )


def downgrade() -> None:
    op.drop_table("recommendation_pairs")
    op.drop_table("recommendation_items")
    op.execute("DELETE FROM consents WHERE channel = 'ads'")
    _channels(OLD_CHANNELS)
