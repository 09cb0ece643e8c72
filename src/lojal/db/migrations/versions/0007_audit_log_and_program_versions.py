"""audit_log (append-only: triggers refuse UPDATE and DELETE but a redaction) and
program_versions (every programme applied, with who applied it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from lojal.db.types import BigIntId, JSONType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# A change of a record is refused unless it is a redaction: ``redacted_at`` set for the first
# time, ``before`` and ``after`` emptied, every other column as it was.
_REDACTION_SQLITE = (
    "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
    "AND NEW.before IS NULL AND NEW.after IS NULL "
    "AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor "
    "AND NEW.action = OLD.action AND NEW.entity = OLD.entity "
    "AND NEW.entity_id IS OLD.entity_id AND NEW.about_member_id IS OLD.about_member_id"
)
_REDACTION_PG = (
    "OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL "
    "AND NEW.before IS NULL AND NEW.after IS NULL "
    "AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor "
    "AND NEW.action = OLD.action AND NEW.entity = OLD.entity "
    "AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id "
    "AND NEW.about_member_id IS NOT DISTINCT FROM OLD.about_member_id"
)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BigIntId, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("about_member_id", BigIntId, nullable=True),
        sa.Column("before", JSONType, nullable=True),
        sa.Column("after", JSONType, nullable=True),
        sa.Column("redacted_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])
    op.create_index("ix_audit_log_about_member_id", "audit_log", ["about_member_id"])
    op.create_table(
        "program_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("config", JSONType, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("applied_at", UTCDateTime, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
    )
    op.execute(
        "INSERT INTO program_versions (version, config, source, applied_at, applied_by) "
        "SELECT version, config, source, updated_at, 'unknown (applied before the audit trail)' "
        "FROM programs"
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log "
            f"WHEN NOT ({_REDACTION_SQLITE}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN "
            f"IF TG_OP = 'UPDATE' AND {_REDACTION_PG} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'audit_log is append-only'; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table("program_versions")
    op.drop_index("ix_audit_log_about_member_id", table_name="audit_log")
    op.drop_index("ix_audit_log_entity_entity_id", table_name="audit_log")
    op.drop_table("audit_log")
