"""each result keeps its pair's enrollment type, counted for the results stored

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = (
    "How the person's current enrollments in the content make it to them, kept by the write "
    "path (learnreport.store.tallies)."
)

ENROLLED = (
    "SELECT 1 FROM enrollments WHERE enrollments.tenant_id = results.tenant_id"
    " AND enrollments.user_id = results.user_id AND enrollments.content_id = results.content_id"
    " AND enrollments.unenrolled_at IS NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrollment_type", sa.String(length=12), comment=COMMENT))
    op.execute(
        "UPDATE results SET enrollment_type = CASE"
        f" WHEN EXISTS ({ENROLLED} AND enrollments.mandatory = TRUE) THEN 'MANDATORY'"
        f" WHEN EXISTS ({ENROLLED}) THEN 'OPTIONAL' ELSE 'NOT_ENROLLED' END"
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.alter_column(
            "enrollment_type", existing_type=sa.String(length=12), nullable=False, comment=COMMENT
        )
        batch_op.create_check_constraint(
            "enrollment_type", "enrollment_type IN ('MANDATORY', 'OPTIONAL', 'NOT_ENROLLED')"
        )


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_results_enrollment_type"), type_="check")
        batch_op.drop_column("enrollment_type")
