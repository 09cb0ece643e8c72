"""challenges and badges: challenges, challenge_progress, challenge_facts,
challenge_completions, badges, member_badges

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:40:37
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import lojal.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "badges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        sa.UniqueConstraint("code", name=op.f("uq_badges_code")),
    )
    op.create_table(
        "challenges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("activity", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("runs_from", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("runs_until", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'ended')", name=op.f("ck_challenges_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
        sa.UniqueConstraint("code", name=op.f("uq_challenges_code")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index("ix_challenges_status", ["status"], unique=False)

    op.create_table(
        "challenge_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "challenge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=True),
        sa.Column("occurred_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('purchase', 'event')", name=op.f("ck_challenge_facts_source")
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_facts_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_challenge_facts_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_facts")),
        sa.UniqueConstraint(
            "member_id",
            "challenge_id",
            "source",
            "source_id",
            "value",
            name=op.f("uq_challenge_facts_member_id_challenge_id_source_source_id_value"),
        ),
    )
    op.create_table(
        "challenge_progress",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "challenge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("window_start", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_end", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("started_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("last_completed_at", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_window_end", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('idle', 'active', 'done')", name=op.f("ck_challenge_progress_state")
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_progress_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_challenge_progress_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_progress")),
        sa.UniqueConstraint(
            "member_id", "challenge_id", name=op.f("uq_challenge_progress_member_id_challenge_id")
        ),
    )
    with op.batch_alter_table("challenge_progress", schema=None) as batch_op:
        batch_op.create_index("ix_challenge_progress_challenge_id", ["challenge_id"], unique=False)

    op.create_table(
        "member_badges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("badge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("first_earned_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_earned_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["badge_id"], ["badges.id"], name=op.f("fk_member_badges_badge_id_badges")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_badges_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_badges")),
        sa.UniqueConstraint(
            "member_id", "badge_id", name=op.f("uq_member_badges_member_id_badge_id")
        ),
    )
    op.create_table(
        "challenge_completions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "challenge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("completed_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_start", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_end", lojal.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("badge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recorded_at", lojal.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["badge_id"], ["badges.id"], name=op.f("fk_challenge_completions_badge_id_badges")
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_completions_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_challenge_completions_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_challenge_completions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_completions")),
        sa.UniqueConstraint(
            "member_id",
            "challenge_id",
            "attempt",
            name=op.f("uq_challenge_completions_member_id_challenge_id_attempt"),
        ),
    )
    with op.batch_alter_table("challenge_completions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_challenge_completions_challenge_id", ["challenge_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("challenge_completions", schema=None) as batch_op:
        batch_op.drop_index("ix_challenge_completions_challenge_id")

    op.drop_table("challenge_completions")
    op.drop_table("member_badges")
    with op.batch_alter_table("challenge_progress", schema=None) as batch_op:
        batch_op.drop_index("ix_challenge_progress_challenge_id")

    op.drop_table("challenge_progress")
    op.drop_table("challenge_facts")
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_challenges_status")

    op.drop_table("challenges")
    op.drop_table("badges")
