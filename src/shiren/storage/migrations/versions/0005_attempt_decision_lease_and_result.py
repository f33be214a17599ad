"""attempt decision lease and stored result token

A submit freezes the attempt's inputs while it decides (``deciding_until``, a lease so a crash does not
freeze it forever); the signed result a device receives is minted once, at the decision, and kept.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:30:00
"""

import sqlalchemy as sa
from alembic import op

import shiren.storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("deciding_until", shiren.storage.models.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("result_token", sa.String(length=512), nullable=True))
        batch.add_column(
            sa.Column("result_token_expires_at", shiren.storage.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("result_token_expires_at")
        batch.drop_column("result_token")
        batch.drop_column("deciding_until")
