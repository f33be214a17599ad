"""the operator console: console users and sessions, human review (a scene's review band, an attempt's
review state and machine verdict, reviewers' decisions), the audit trail's actor, the searches' indexes
(tenant + time, tenant + status + time, BizId in any scene, a UserId's keyed hash) and decision times

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import shiren.storage.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = shiren.storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("last_login_at", UTC(), nullable=True),
    )
    op.create_index("ix_console_users_tenant_id", "console_users", ["tenant_id"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_seen_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.Integer(), sa.ForeignKey("attempts.id"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("console_users.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.Integer(), nullable=False),
        sa.Column("to_status", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("comment_enc", sa.LargeBinary(), nullable=True),
        sa.Column("at", UTC(), nullable=False),
    )
    op.create_index("ix_review_decisions_attempt_id", "review_decisions", ["attempt_id"])
    with op.batch_alter_table("scenes") as batch:
        batch.add_column(sa.Column("review", sa.JSON(), nullable=True))
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("user_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("decision_ms", sa.Float(), nullable=True))
        batch.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("machine_status", sa.Integer(), nullable=True))
        batch.create_index("ix_attempts_user_index", ["user_index", "created_at"])
        batch.create_index(
            "ix_attempts_tenant_created",
            ["tenant_id", "created_at", "id", "decided_at", "verify_status", "review_state", "decision_ms"],
        )
        batch.create_index("ix_attempts_tenant_status_created", ["tenant_id", "verify_status", "created_at"])
        batch.create_index("ix_attempts_review", ["review_state", "decided_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.create_index("ix_tasks_tenant_biz", ["tenant_id", "biz_id"])
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=128), nullable=True))
        batch.create_index("ix_audit_tenant_at", ["tenant_id", "at"])
        batch.create_index("ix_audit_action_object_at", ["action", "object_id", "at"])
        batch.create_index("ix_audit_action_remote_at", ["action", "remote", "at"])


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_action_remote_at")
        batch.drop_index("ix_audit_action_object_at")
        batch.drop_index("ix_audit_tenant_at")
        batch.drop_column("actor")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_tenant_biz")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_review")
        batch.drop_index("ix_attempts_tenant_status_created")
        batch.drop_index("ix_attempts_tenant_created")
        batch.drop_index("ix_attempts_user_index")
        for column in ("machine_status", "review_state", "decision_ms", "user_index"):
            batch.drop_column(column)
    with op.batch_alter_table("scenes") as batch:
        batch.drop_column("review")
    op.drop_table("review_decisions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
