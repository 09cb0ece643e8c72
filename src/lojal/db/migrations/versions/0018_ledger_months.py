"""ledger months: the IFRS 15 figures of closed months, stored by the worker's
``ledger_months`` job, and how far they reach

Revision ID: 0017_ledger_months
Revises: 0016_fraud
Create Date: 2026-12-03 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from lojal.db.types import BigIntId, UTCDateTime

revision = "0017_ledger_months"
down_revision = "0016_fraud"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_months",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("measure", sa.String(length=12), nullable=False),
        sa.Column("cohort", sa.Date(), nullable=True),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "measure IN ('issued', 'merged', 'redeemed', 'expired', 'taken_back', 'sales')",
            name=op.f("ck_ledger_months_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_months")),
    )
    op.create_table(
        "ledger_month_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("closed_before", sa.Date(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_month_marks")),
    )


def downgrade() -> None:
    op.drop_table("ledger_month_marks")
    op.drop_table("ledger_months")
