"""insight: the stored figures of each refit (insight_fits) and of each member (member_scores)

Revision ID: 0014_insight
Revises: 0008_worker
Create Date: 2026-12-10 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lojal.db.types

revision = "0014_insight"
down_revision = "0008_worker"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = lojal.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "insight_fits",
        sa.Column("id", ID, nullable=False),
        sa.Column("fitted_at", TIME, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("monthly_discount", sa.Double(), nullable=False),
        sa.Column("retention_years", sa.Double(), nullable=False),
        sa.Column("unit_days", sa.Double(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("fitted_members", sa.Integer(), nullable=False),
        sa.Column("repeat_members", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("log_likelihood", JSON, nullable=False),
        sa.Column("converged", sa.Boolean(), nullable=False),
        sa.Column("spend_fallbacks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_fits")),
    )
    op.create_table(
        "member_scores",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("fit_id", ID, nullable=False),
        sa.Column("fitted_at", TIME, nullable=False),
        sa.Column("rfm_r", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_f", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_m", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_fm", sa.SmallInteger(), nullable=False),
        sa.Column("rfm_group", sa.String(length=32), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), nullable=False),
        sa.Column("first_purchase_on", sa.Date(), nullable=False),
        sa.Column("last_purchase_on", sa.Date(), nullable=False),
        sa.Column("p_alive", sa.Double(), nullable=False),
        sa.Column("churn_risk", sa.Double(), nullable=False),
        sa.Column("expected_purchases", sa.Double(), nullable=False),
        sa.Column("expected_spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("clv_minor", sa.BigInteger(), nullable=False),
        sa.Column("simple_clv_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fit_id"], ["insight_fits.id"], name=op.f("fk_member_scores_fit_id_insight_fits")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_scores_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_scores")),
    )
    op.create_index("ix_member_scores_fit_id", "member_scores", ["fit_id"], unique=False)
    op.create_index("ix_member_scores_rfm", "member_scores", ["rfm_r", "rfm_fm"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_scores_rfm", table_name="member_scores")
    op.drop_index("ix_member_scores_fit_id", table_name="member_scores")
    op.drop_table("member_scores")
    op.drop_table("insight_fits")
