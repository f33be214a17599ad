"""indexes the retention worker's bounded queries seek on

Each query starts at the rows not yet erased (a NULL erasure time, or a still pending state) and reads them
oldest first, so it never walks the ever-growing history of erased attempts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:00:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.create_index("ix_attempts_erased_at_created_at", ["erased_at", "created_at"])
        batch.create_index("ix_attempts_media_erased_at_created_at", ["media_erased_at", "created_at"])
        batch.create_index("ix_attempts_state_expires_at", ["state", "expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_index("ix_attempts_state_expires_at")
        batch.drop_index("ix_attempts_media_erased_at_created_at")
        batch.drop_index("ix_attempts_erased_at_created_at")
