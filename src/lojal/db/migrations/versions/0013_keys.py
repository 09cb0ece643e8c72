"""least-privilege access: API key kinds (admin, integration, till bound to a store, app),
expiry and rotation; the access revision; member app sign-in codes and sessions

Keys made before kinds existed keep the power they had: a key with the admin scope becomes an
admin key, any other (pos, integration: they could do the same) an integration key. Tills are
then re-issued as till keys bound to their store (``lojal keys add NAME --kind till --store S``).

Revision ID: 0013_keys
Revises: 0008_worker
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from lojal.db.types import BigIntId, UTCDateTime

revision = "0013_keys"
down_revision = "0012_journeys"
branch_labels = None
depends_on = None

TIME = UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="integration")
        )
        batch_op.add_column(sa.Column("store_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("expires_at", TIME, nullable=True))
        batch_op.add_column(sa.Column("rotated_at", TIME, nullable=True))
        batch_op.add_column(sa.Column("previous_secret_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_valid_until", TIME, nullable=True))
    op.execute("UPDATE api_keys SET kind = 'admin' WHERE scopes LIKE '%admin%'")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.drop_column("scopes")
        batch_op.create_check_constraint(
            op.f("ck_api_keys_kind"), "kind IN ('admin', 'integration', 'till', 'app')"
        )
        batch_op.create_check_constraint(
            op.f("ck_api_keys_till_store"), "(kind = 'till') = (store_id IS NOT NULL)"
        )
    op.create_table(
        "access_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_revisions")),
    )
    op.execute("INSERT INTO access_revisions (id, revision) VALUES (1, 0)")
    op.create_table(
        "member_sign_in_codes",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("member_id", BigIntId, nullable=False),
        sa.Column("key_id", BigIntId, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_member_sign_in_codes_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_sign_in_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_sign_in_codes")),
    )
    op.create_index(
        "ix_member_sign_in_codes_member_id", "member_sign_in_codes", ["member_id"], unique=False
    )
    op.create_table(
        "member_sessions",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", BigIntId, nullable=False),
        sa.Column("key_id", BigIntId, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_member_sessions_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_sessions_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_sessions")),
        sa.UniqueConstraint("prefix", name=op.f("uq_member_sessions_prefix")),
    )
    op.create_index("ix_member_sessions_member_id", "member_sessions", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_sessions_member_id", table_name="member_sessions")
    op.drop_table("member_sessions")
    op.drop_index("ix_member_sign_in_codes_member_id", table_name="member_sign_in_codes")
    op.drop_table("member_sign_in_codes")
    op.drop_table("access_revisions")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=100), nullable=False, server_default="integration")
        )
    # a till could do what a pos key did; an app key had no equivalent: it goes
    op.execute("DELETE FROM api_keys WHERE kind = 'app'")
    op.execute(
        "UPDATE api_keys SET scopes = CASE kind WHEN 'admin' THEN 'admin' "
        "WHEN 'till' THEN 'pos' ELSE 'integration' END"
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("scopes", server_default=None)
        batch_op.drop_constraint(op.f("ck_api_keys_till_store"), type_="check")
        batch_op.drop_constraint(op.f("ck_api_keys_kind"), type_="check")
        batch_op.drop_column("previous_valid_until")
        batch_op.drop_column("previous_secret_hash")
        batch_op.drop_column("rotated_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("store_id")
        batch_op.drop_column("kind")
