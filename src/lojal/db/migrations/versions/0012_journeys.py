"""journeys: definitions, runs (unique per journey, member and occasion), the messages they
sent, and the channels' caps and quiet hours

Revision ID: 0012_journeys
Revises: 0008_worker
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lojal.db.types

revision = "0012_journeys"
down_revision = "0014_insight"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = lojal.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trigger_kind", sa.String(length=32), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("swept_on", sa.Date(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("code", name=op.f("uq_journeys_code")),
    )
    op.create_index(
        "ix_journeys_trigger_kind", "journeys", ["trigger_kind", "enabled"], unique=False
    )
    op.create_table(
        "journey_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("occasion", sa.String(length=100), nullable=False),
        sa.Column("cause", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.Column("position", JSON, nullable=False),
        sa.Column("wakes", sa.Integer(), nullable=False),
        sa.Column("next_at", TIME, nullable=True),
        sa.Column("history", JSON, nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("entered_at", TIME, nullable=False),
        sa.Column("converts_until", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.CheckConstraint(
            "state IN ('entered', 'waiting', 'done', 'held_out', 'exited')",
            name=op.f("ck_journey_runs_state"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_runs_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_journey_runs_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_runs")),
        sa.UniqueConstraint(
            "journey_id",
            "member_id",
            "occasion",
            name=op.f("uq_journey_runs_journey_id_member_id_occasion"),
        ),
    )
    op.create_index(
        "ix_journey_runs_member_id", "journey_runs", ["member_id", "journey_id"], unique=False
    )
    op.create_index(
        "ix_journey_runs_journey_id_entered_at",
        "journey_runs",
        ["journey_id", "entered_at"],
        unique=False,
    )
    op.create_table(
        "journey_messages",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("journey_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_messages_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_journey_messages_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_journey_messages_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["journey_runs.id"],
            name=op.f("fk_journey_messages_run_id_journey_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_journey_messages")),
    )
    op.create_index(
        "ix_journey_messages_journey_id",
        "journey_messages",
        ["journey_id", "message_id"],
        unique=False,
    )
    op.create_table(
        "journey_channel_policies",
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("cap_messages", sa.Integer(), nullable=True),
        sa.Column("cap_days", sa.Integer(), nullable=True),
        sa.Column("quiet_from", sa.String(length=5), nullable=True),
        sa.Column("quiet_until", sa.String(length=5), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push', 'inbox')",
            name=op.f("ck_journey_channel_policies_channel"),
        ),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_journey_channel_policies")),
    )


def downgrade() -> None:
    op.drop_table("journey_channel_policies")
    op.drop_index("ix_journey_messages_journey_id", table_name="journey_messages")
    op.drop_table("journey_messages")
    op.drop_index("ix_journey_runs_journey_id_entered_at", table_name="journey_runs")
    op.drop_index("ix_journey_runs_member_id", table_name="journey_runs")
    op.drop_table("journey_runs")
    op.drop_index("ix_journeys_trigger_kind", table_name="journeys")
    op.drop_table("journeys")
