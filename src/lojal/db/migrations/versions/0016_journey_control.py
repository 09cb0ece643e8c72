"""journeys' control groups: the club's global control group (journey_control, one row) and
where each run was placed (journey_runs.placement)

Revision ID: 0016_journey_control
Revises: 0012_journeys
Create Date: 2026-12-15 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import lojal.db.types

revision = "0016_journey_control"
down_revision = "0015_recs"
branch_labels = None
depends_on = None

TIME = lojal.db.types.UTCDateTime(timezone=True)
PLACEMENTS = "placement IN ('treated', 'global_control', 'holdout', 'exempt')"


def upgrade() -> None:
    op.create_table(
        "journey_control",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("drawn_on", sa.Date(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_journey_control_one_row")),
        sa.CheckConstraint(
            "percent >= 0 AND percent <= 10", name=op.f("ck_journey_control_percent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_control")),
    )
    with op.batch_alter_table("journey_runs") as batch:
        batch.add_column(sa.Column("placement", sa.String(length=14), nullable=True))
        batch.create_check_constraint(op.f("ck_journey_runs_placement"), PLACEMENTS)
    # runs decided before: a held-out run was in the journey's holdout, a run past its first
    # wake was treated; a run still waiting for its first wake is placed then
    op.execute(
        "UPDATE journey_runs SET placement = CASE WHEN held_out THEN 'holdout'"
        " WHEN state <> 'entered' THEN 'treated' END"
    )


def downgrade() -> None:
    with op.batch_alter_table("journey_runs") as batch:
        batch.drop_constraint(op.f("ck_journey_runs_placement"), type_="check")
        batch.drop_column("placement")
    op.drop_table("journey_control")
