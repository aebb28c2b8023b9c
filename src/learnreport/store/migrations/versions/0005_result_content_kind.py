"""each result keeps its content's kind, copied from the catalog for the results stored

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = "The content's kind, which never changes, copied by the write path."


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_kind", sa.String(length=16), comment=COMMENT))
    op.execute(
        "UPDATE results SET content_kind = (SELECT contents.kind FROM contents"
        " WHERE contents.tenant_id = results.tenant_id AND contents.id = results.content_id)"
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.alter_column(
            "content_kind", existing_type=sa.String(length=16), nullable=False, comment=COMMENT
        )
        batch_op.create_check_constraint(
            "content_kind",
            "content_kind IN ('activity', 'course', 'journey', 'section', 'programme', 'skill',"
            " 'path')",
        )


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_results_content_kind"), type_="check")
        batch_op.drop_column("content_kind")
