"""web pages: staff users, their sign-in attempts and sessions; member portal links and sessions

Revision ID: 0009_web
Revises: 0006
Create Date: 2026-12-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from lojal.db.types import BigIntId, UTCDateTime

revision = "0009_web"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('owner', 'marketer', 'store_staff', 'read_only')",
            name=op.f("ck_staff_users_role"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", BigIntId, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_sessions_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "staff_sign_in_attempts",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sign_in_attempts")),
    )
    op.create_index("ix_staff_sign_in_attempts_email_at", "staff_sign_in_attempts", ["email", "at"])
    op.create_index(
        "ix_staff_sign_in_attempts_address_at", "staff_sign_in_attempts", ["address", "at"]
    )
    for table in ("member_portal_links", "member_portal_sessions"):
        extra = (
            [sa.Column("used_at", UTCDateTime(timezone=True), nullable=True)]
            if table == "member_portal_links"
            else [sa.Column("csrf_token", sa.String(length=64), nullable=False)]
        )
        op.create_table(
            table,
            sa.Column("id", BigIntId, nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("member_id", BigIntId, nullable=False),
            sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
            sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(
                ["member_id"], ["members.id"], name=op.f(f"fk_{table}_member_id_members")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
        )
        op.create_index(f"ix_{table}_member_id", table, ["member_id"])


def downgrade() -> None:
    for table in ("member_portal_sessions", "member_portal_links"):
        op.drop_index(f"ix_{table}_member_id", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_staff_sign_in_attempts_address_at", table_name="staff_sign_in_attempts")
    op.drop_index("ix_staff_sign_in_attempts_email_at", table_name="staff_sign_in_attempts")
    op.drop_table("staff_sign_in_attempts")
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
