"""capture prints: keyed tokens of each capture's content fingerprint, to refuse re-encoded replays

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00
"""

import sqlalchemy as sa
from alembic import op

import shiren.storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capture_prints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("created_at", shiren.storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id", "token"),
    )
    with op.batch_alter_table("capture_prints") as batch:
        batch.create_index("ix_capture_prints_token", ["token"])
        batch.create_index("ix_capture_prints_attempt_id", ["attempt_id"])


def downgrade() -> None:
    with op.batch_alter_table("capture_prints") as batch:
        batch.drop_index("ix_capture_prints_attempt_id")
        batch.drop_index("ix_capture_prints_token")
    op.drop_table("capture_prints")
