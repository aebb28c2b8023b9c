"""credentials

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:05:49.480338
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import learnreport.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
        comment="Random secrets the server keeps for itself, created on first use.",
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False, comment="PEM (PKCS#8)."),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
        comment="Keys signing access tokens, server-wide: the newest signs, every one verifies.",
    )
    op.create_table(
        "credentials",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "public_id", sa.String(length=100), nullable=False, comment="Client id or API key id."
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="NULL: every scope the role allows, now or later.",
        ),
        sa.Column("limited_to_groups", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("revoked_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("last_used_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.CheckConstraint("kind IN ('client', 'key')", name=op.f("ck_credentials_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credentials")),
        sa.UniqueConstraint(
            "tenant_id", "public_id", name=op.f("uq_credentials_tenant_id_public_id")
        ),
        comment="OAuth2 clients and API keys; secrets are stored hashed only.",
    )
    op.create_table(
        "credential_groups",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "credential_id"],
            ["credentials.tenant_id", "credentials.id"],
            name=op.f("fk_credential_groups_tenant_id_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_credential_groups_tenant_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credential_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "credential_id", "group_id", name=op.f("pk_credential_groups")
        ),
        comment="The groups whose subtrees limit what a credential sees.",
    )
    with op.batch_alter_table("credential_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_groups_tenant_id_group_id"),
            ["tenant_id", "group_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_groups_tenant_id_group_id"))

    op.drop_table("credential_groups")
    op.drop_table("credentials")
    op.drop_table("signing_keys")
    op.drop_table("server_secrets")
