"""challenge prompt times: when each action of a timed challenge is prompted (null: an untimed challenge)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("prompt_ms", sa.JSON(), nullable=True))
        batch.create_index("ix_challenges_issued_at", ["issued_at"])


def downgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.drop_index("ix_challenges_issued_at")
        batch.drop_column("prompt_ms")
