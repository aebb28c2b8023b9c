"""statements and imports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import learnreport.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False, comment="The file's name."),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False, comment="Records in committed batches."),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the committed records, so a resume can tell the file is the same.",
        ),
        sa.Column("started_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("finished_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_imports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_imports")),
        comment="File imports: each batch commits with its progress here, so an import stopped part way resumes after its last whole batch.",
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imports_tenant_id_kind_source"),
            ["tenant_id", "kind", "source"],
            unique=False,
        )

    op.create_table(
        "statements",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "statement_id", sa.String(length=36), nullable=False, comment="The xAPI id, lowercase."
        ),
        sa.Column(
            "actor",
            sa.String(length=1024),
            nullable=False,
            comment="mailto:EMAIL or HOMEPAGE|NAME.",
        ),
        sa.Column("verb", sa.String(length=1024), nullable=False),
        sa.Column(
            "activity",
            sa.String(length=2048),
            nullable=True,
            comment="The object's id when it is an Activity.",
        ),
        sa.Column("registration", sa.String(length=36), nullable=True),
        sa.Column(
            "voids",
            sa.String(length=36),
            nullable=True,
            comment="The statement a voiding statement voids.",
        ),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            nullable=True,
            comment="The matched person, or NULL while unmatched.",
        ),
        sa.Column(
            "content_id", sa.Integer(), nullable=True, comment="The matched activity, or NULL."
        ),
        sa.Column("timestamp", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("stored", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            comment="The statement as stored.",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "content_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_statements_tenant_id_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_statements_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_statements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_statements")),
        sa.UniqueConstraint(
            "tenant_id", "statement_id", name=op.f("uq_statements_tenant_id_statement_id")
        ),
        comment="xAPI statements as received; matched ones feed results through the write path.",
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_actor"), ["tenant_id", "actor"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_activity"), ["tenant_id", "activity"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_voids"), ["tenant_id", "voids"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_content_id"),
            ["tenant_id", "content_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_stored"), ["tenant_id", "stored"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statements_tenant_id_user_id_content_id"),
            ["tenant_id", "user_id", "content_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_user_id_content_id"))
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_stored"))
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_content_id"))
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_voids"))
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_activity"))
        batch_op.drop_index(batch_op.f("ix_statements_tenant_id_actor"))

    op.drop_table("statements")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_tenant_id_kind_source"))

    op.drop_table("imports")
