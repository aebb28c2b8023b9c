"""standing tallies, counted for the tenants already stored

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from learnreport.store import tallies

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_tallies",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("enrollment_type", sa.String(length=12), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column(
            "progress", sa.Float(), nullable=False, comment="The sum of the pairs' progress."
        ),
        sa.CheckConstraint(
            "enrollment_type IN ('MANDATORY', 'OPTIONAL', 'NOT_ENROLLED')",
            name=op.f("ck_content_tallies_enrollment_type"),
        ),
        sa.CheckConstraint(
            "state IN ('not_started', 'in_progress', 'awaiting_correction', 'completed', 'passed', 'failed', 'expired')",
            name=op.f("ck_content_tallies_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "content_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_content_tallies_tenant_id_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_tallies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "content_id", "state", "enrollment_type", name=op.f("pk_content_tallies")
        ),
        comment="How many person x content pairs stand in each state and enrollment type on each content, kept current by the write path (learnreport.store.tallies).",
    )
    op.create_table(
        "group_tallies",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("enrollment_type", sa.String(length=12), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column(
            "progress", sa.Float(), nullable=False, comment="The sum of the pairs' progress."
        ),
        sa.CheckConstraint(
            "enrollment_type IN ('MANDATORY', 'OPTIONAL', 'NOT_ENROLLED')",
            name=op.f("ck_group_tallies_enrollment_type"),
        ),
        sa.CheckConstraint(
            "state IN ('not_started', 'in_progress', 'awaiting_correction', 'completed', 'passed', 'failed', 'expired')",
            name=op.f("ck_group_tallies_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_group_tallies_tenant_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_group_tallies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "group_id", "state", "enrollment_type", name=op.f("pk_group_tallies")
        ),
        comment="The same per group, counting each pair under every group its person is a direct member of.",
    )
    connection = op.get_bind()
    for tenant_id in connection.execute(sa.text("SELECT id FROM tenants")).scalars().all():
        tallies.rebuild(connection, tenant_id)


def downgrade() -> None:
    op.drop_table("group_tallies")
    op.drop_table("content_tallies")
