"""registry template model: wide enough for an embedder's full id (PostgreSQL enforces the width; a
roster import with photos failed there, while SQLite ignored it)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_identities") as batch:
        batch.alter_column(
            "template_model",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_identities") as batch:
        batch.alter_column(
            "template_model",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
