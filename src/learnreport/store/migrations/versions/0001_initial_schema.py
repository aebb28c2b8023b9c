"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 08:34:13.513262
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import learnreport.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("training_types_enabled", sa.Boolean(), nullable=False),
        sa.Column("api_access_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "contents",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=63), nullable=True),
        sa.Column(
            "duration", sa.Integer(), nullable=True, comment="Theoretical duration in minutes."
        ),
        sa.Column("training_type", sa.String(length=16), nullable=True),
        sa.Column("accreditation_points", sa.Float(), nullable=True),
        sa.Column("sku", sa.String(length=63), nullable=True),
        sa.Column("abbreviation", sa.String(length=63), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('activity', 'course', 'journey', 'section', 'programme', 'skill', 'path')",
            name=op.f("ck_contents_kind"),
        ),
        sa.CheckConstraint(
            "training_type IS NULL OR training_type IN ('formal', 'informal')",
            name=op.f("ck_contents_training_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_contents")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_contents_tenant_id_external_id")
        ),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_contents_tenant_id_uuid")),
        comment="The catalog: activities (modules), courses, journeys and their sections, programmes, skills (badges) and paths share one table and one id namespace.",
    )
    with op.batch_alter_table("contents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contents_tenant_id_kind_name"),
            ["tenant_id", "kind", "name"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_contents_tenant_id_sku"), ["tenant_id", "sku"], unique=False
        )

    op.create_table(
        "custom_fields",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_custom_fields_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_custom_fields_tenant_id_key")),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_custom_fields_tenant_id_uuid")),
        comment="Per-tenant user profile fields: the pages' flexible fields and custom attributes.",
    )
    op.create_table(
        "groups",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=63), nullable=True),
        sa.Column(
            "name_i18n",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("external_name", sa.String(length=255), nullable=True),
        sa.Column("created_by_user_importer", sa.Boolean(), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_groups_tenant_id_parent_id_groups"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_groups_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_groups")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_groups_tenant_id_external_id")
        ),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_groups_tenant_id_name")),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_groups_tenant_id_uuid")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_groups_tenant_id_modified_at"),
            ["tenant_id", "modified_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_groups_tenant_id_parent_id"), ["tenant_id", "parent_id"], unique=False
        )

    op.create_table(
        "sequences",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sequences_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_sequences")),
        comment="The last per-tenant integer id handed out for each table.",
    )
    op.create_table(
        "users",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.Column("registration_date", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("last_seen", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("contract_start_date", learnreport.store.types.Day(), nullable=True),
        sa.Column("contract_end_date", learnreport.store.types.Day(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=255), nullable=True),
        sa.Column("saml_username", sa.String(length=255), nullable=True),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'pending', 'suspended', 'blocked')", name=op.f("ck_users_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_users_tenant_id_email")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_users_tenant_id_external_id")
        ),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_users_tenant_id_uuid")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_tenant_id_employee_id"), ["tenant_id", "employee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_users_tenant_id_modified_at"), ["tenant_id", "modified_at"], unique=False
        )

    op.create_table(
        "content_items",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "child_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_content_items_tenant_id_child_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_content_items_tenant_id_parent_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_content_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_content_items")),
        sa.UniqueConstraint(
            "tenant_id",
            "parent_id",
            "position",
            name=op.f("uq_content_items_tenant_id_parent_id_position"),
        ),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_content_items_tenant_id_uuid")),
        comment="Ordered composition: course items of a course, sections of a journey, activities of a section or programme. Course items carry their own uuid (iSpring's courseItemId).",
    )
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_content_items_tenant_id_child_id"),
            ["tenant_id", "child_id"],
            unique=False,
        )

    op.create_table(
        "group_tree",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ancestor_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_group_tree_tenant_id_ancestor_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "descendant_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_group_tree_tenant_id_descendant_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_group_tree_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "ancestor_id", "descendant_id", name=op.f("pk_group_tree")
        ),
        comment="Closure of the group tree (each group is its own ancestor at depth 0), kept current by the write path so that 'a group and all its descendants' is one join.",
    )
    with op.batch_alter_table("group_tree", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_tree_tenant_id_descendant_id_ancestor_id"),
            ["tenant_id", "descendant_id", "ancestor_id"],
            unique=False,
        )

    op.create_table(
        "memberships",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "group_id"],
            ["groups.tenant_id", "groups.id"],
            name=op.f("fk_memberships_tenant_id_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_memberships_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_memberships_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "user_id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_memberships_tenant_id_user_id_group_id"),
            ["tenant_id", "user_id", "group_id"],
            unique=False,
        )

    op.create_table(
        "path_sessions",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("starts_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("ends_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column(
            "time_limit",
            sa.Integer(),
            nullable=True,
            comment="Minutes allowed to complete the path.",
        ),
        sa.Column("mandatory_replay", sa.Boolean(), nullable=False),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "path_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_path_sessions_tenant_id_path_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_path_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_path_sessions")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_path_sessions_tenant_id_external_id")
        ),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_path_sessions_tenant_id_uuid")),
    )
    with op.batch_alter_table("path_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_path_sessions_tenant_id_path_id"), ["tenant_id", "path_id"], unique=False
        )

    op.create_table(
        "path_steps",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("path_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column(
            "due_at",
            learnreport.store.types.Timestamp(),
            nullable=True,
            comment="Absolute due date.",
        ),
        sa.Column(
            "due_days",
            sa.Integer(),
            nullable=True,
            comment="Due date relative to enrollment, in days.",
        ),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("needs_correction", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "content_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_path_steps_tenant_id_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "path_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_path_steps_tenant_id_path_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_path_steps_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "path_id", "position", name=op.f("pk_path_steps")),
    )
    with op.batch_alter_table("path_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_path_steps_tenant_id_content_id"),
            ["tenant_id", "content_id"],
            unique=False,
        )

    op.create_table(
        "results",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("grade", sa.String(length=63), nullable=True),
        sa.Column("time_spent", sa.Integer(), nullable=False, comment="Seconds."),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("started_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("completed_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("failed_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("graded_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("expires_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("expired_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("seen_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("last_nudged_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("certificate_issued_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.CheckConstraint(
            "state IN ('not_started', 'in_progress', 'awaiting_correction', 'completed', 'passed', 'failed', 'expired')",
            name=op.f("ck_results_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "content_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_results_tenant_id_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_results_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_results_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_results")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_results_tenant_id_external_id")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "user_id",
            "content_id",
            "attempt",
            name=op.f("uq_results_tenant_id_user_id_content_id_attempt"),
        ),
        comment="One row per user x content x attempt: a reset starts a new attempt with a new id.",
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_results_tenant_id_content_id"), ["tenant_id", "content_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_results_tenant_id_modified_at"),
            ["tenant_id", "modified_at"],
            unique=False,
        )

    op.create_table(
        "user_field_values",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "field_id"],
            ["custom_fields.tenant_id", "custom_fields.id"],
            name=op.f("fk_user_field_values_tenant_id_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_field_values_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_user_field_values_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "user_id", "field_id", name=op.f("pk_user_field_values")
        ),
    )
    with op.batch_alter_table("user_field_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_field_values_tenant_id_field_id_value"),
            ["tenant_id", "field_id", "value"],
            unique=False,
        )

    op.create_table(
        "enrollments",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("access_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("due_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("expires_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("unenrolled_at", learnreport.store.types.Timestamp(), nullable=True),
        sa.Column("created_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.Column("modified_at", learnreport.store.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "content_id"],
            ["contents.tenant_id", "contents.id"],
            name=op.f("fk_enrollments_tenant_id_content_id_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["path_sessions.tenant_id", "path_sessions.id"],
            name=op.f("fk_enrollments_tenant_id_session_id_path_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_enrollments_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_enrollments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "tenant_id", "external_id", name=op.f("uq_enrollments_tenant_id_external_id")
        ),
        sa.UniqueConstraint("tenant_id", "uuid", name=op.f("uq_enrollments_tenant_id_uuid")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollments_tenant_id_content_id"),
            ["tenant_id", "content_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_tenant_id_modified_at"),
            ["tenant_id", "modified_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_tenant_id_session_id"),
            ["tenant_id", "session_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_enrollments_tenant_id_user_id_content_id"),
            ["tenant_id", "user_id", "content_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_tenant_id_user_id_content_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_tenant_id_session_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_tenant_id_modified_at"))
        batch_op.drop_index(batch_op.f("ix_enrollments_tenant_id_content_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("user_field_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_field_values_tenant_id_field_id_value"))

    op.drop_table("user_field_values")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_tenant_id_modified_at"))
        batch_op.drop_index(batch_op.f("ix_results_tenant_id_content_id"))

    op.drop_table("results")
    with op.batch_alter_table("path_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_steps_tenant_id_content_id"))

    op.drop_table("path_steps")
    with op.batch_alter_table("path_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_path_sessions_tenant_id_path_id"))

    op.drop_table("path_sessions")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_tenant_id_user_id_group_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("group_tree", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_tree_tenant_id_descendant_id_ancestor_id"))

    op.drop_table("group_tree")
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_content_items_tenant_id_child_id"))

    op.drop_table("content_items")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_tenant_id_modified_at"))
        batch_op.drop_index(batch_op.f("ix_users_tenant_id_employee_id"))

    op.drop_table("users")
    op.drop_table("sequences")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_tenant_id_parent_id"))
        batch_op.drop_index(batch_op.f("ix_groups_tenant_id_modified_at"))

    op.drop_table("groups")
    op.drop_table("custom_fields")
    with op.batch_alter_table("contents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contents_tenant_id_sku"))
        batch_op.drop_index(batch_op.f("ix_contents_tenant_id_kind_name"))

    op.drop_table("contents")
    op.drop_table("tenants")
