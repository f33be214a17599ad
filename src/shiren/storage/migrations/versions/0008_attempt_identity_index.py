"""attempt identity index: a keyed hash of the ID number checked, so failures can be limited per identity

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("identity_index", sa.String(length=64), nullable=True))
        batch.create_index("ix_attempts_identity_index", ["identity_index"])


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_identity_index")
        batch.drop_column("identity_index")
