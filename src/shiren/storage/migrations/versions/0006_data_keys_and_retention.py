"""per-verification data keys, the wrapped system key, media retention and erasure times

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import shiren.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("record_key", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("record_kek", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("media_key", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("media_kek", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("media_erased_at", shiren.storage.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("erased_at", shiren.storage.models.UTCDateTime(), nullable=True))
        batch.create_index("ix_attempts_record_kek", ["record_kek"])
        batch.create_index("ix_attempts_media_kek", ["media_kek"])
        batch.create_index("ix_attempts_created_at", ["created_at"])
    with op.batch_alter_table("scenes") as batch:
        batch.add_column(sa.Column("media_retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenes") as batch:
        batch.drop_column("media_retention_days")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_created_at")
        batch.drop_index("ix_attempts_media_kek")
        batch.drop_index("ix_attempts_record_kek")
        for column in ("erased_at", "media_erased_at", "media_kek", "media_key", "record_kek", "record_key"):
            batch.drop_column(column)
    op.drop_table("system_keys")
