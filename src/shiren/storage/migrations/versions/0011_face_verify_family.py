"""the face-verify family (InitFaceVerify …): a numeric SceneId per scene, an attempt's own scheme (its
ProductCode) and liveness Model, when its result was first read (DeleteAfterQuery), and the callback style
of an outbox row

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:30:00
"""

import sqlalchemy as sa
from alembic import op

import shiren.storage.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scenes") as batch:
        batch.add_column(sa.Column("scene_id", sa.BigInteger(), nullable=True))
    scenes = sa.table("scenes", sa.column("id", sa.Integer()), sa.column("scene_id", sa.BigInteger()))
    conn = op.get_bind()
    used: set[int] = set()
    for (row_id,) in conn.execute(sa.select(scenes.c.id)).fetchall():
        value = shiren.storage.models.new_scene_id()
        while value in used:
            value = shiren.storage.models.new_scene_id()
        used.add(value)
        conn.execute(scenes.update().where(scenes.c.id == row_id).values(scene_id=value))
    with op.batch_alter_table("scenes") as batch:
        batch.alter_column("scene_id", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ix_scenes_scene_id", ["scene_id"], unique=True)
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("liveness_model", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("described_at", shiren.storage.models.UTCDateTime(), nullable=True))
    with op.batch_alter_table("callback_outbox") as batch:
        batch.add_column(sa.Column("style", sa.String(length=16), nullable=False, server_default="webhook"))


def downgrade() -> None:
    with op.batch_alter_table("callback_outbox") as batch:
        batch.drop_column("style")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("described_at")
        batch.drop_column("liveness_model")
        batch.drop_column("scheme")
    with op.batch_alter_table("scenes") as batch:
        batch.drop_index("ix_scenes_scene_id")
        batch.drop_column("scene_id")
