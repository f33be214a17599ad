"""upload card reading: the card front as read for the confirm step, kept so submit does not read it again

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("reading_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("reading_blob_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("reading_blob_id")
        batch.drop_column("reading_enc")
