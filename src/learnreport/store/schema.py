"""Every table of learnreport, in one SQLAlchemy Core `MetaData`.

Each table but `tenants` carries `tenant_id` first in its primary key, in every unique
constraint, every index and every foreign key, so that a query filtered by tenant always
has an index to use and the schema can later be distributed by tenant (for example on
Citus). Foreign keys include `tenant_id`, so no row can point into another tenant.

Records have three identifiers: `id`, a per-tenant integer used for joins and never shown
to clients; `external_id`, the platform's own id, which ingest upserts by and the native
API shows as `id`; and `uuid`, a generated UUID that the dialects which speak in UUIDs show.
"""

from typing import Any

import sqlalchemy as sa

from learnreport.domain.states import EnrollmentType, ResultState, TrainingType, UserStatus
from learnreport.store.types import Day, JSONDocument, Timestamp

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

CONTENT_KINDS = ("activity", "course", "journey", "section", "programme", "skill", "path")


def _one_of(column: str, values: tuple[str, ...], *, nullable: bool = False) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return sa.CheckConstraint(condition, name=column)


def _tenant() -> sa.Column[int]:
    return sa.Column(
        "tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _ref(column: str, table: str, *, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete
    )


def _identity() -> list[Any]:
    """The three identifiers every top-level record has, with their unique indexes."""
    return [
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
    ]


def _identity_keys() -> list[Any]:
    return [
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.UniqueConstraint("tenant_id", "uuid"),
    ]


def _stamps() -> list[sa.Column[str]]:
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("modified_at", Timestamp, nullable=False),
    ]


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(63), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("training_types_enabled", sa.Boolean, nullable=False, default=False),
    sa.Column("api_access_enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

sequences = sa.Table(
    "sequences",
    metadata,
    _tenant(),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("last_id", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "name"),
    comment="The last per-tenant integer id handed out for each table.",
)

users = sa.Table(
    "users",
    metadata,
    _tenant(),
    *_identity(),
    sa.Column("username", sa.String(255)),
    sa.Column("email", sa.String(320)),
    sa.Column("first_name", sa.String(255)),
    sa.Column("last_name", sa.String(255)),
    sa.Column("avatar_url", sa.String(2048)),
    sa.Column("registration_date", Timestamp),
    sa.Column("last_seen", Timestamp),
    sa.Column("contract_start_date", Day),
    sa.Column("contract_end_date", Day),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("employee_id", sa.String(255)),
    sa.Column("saml_username", sa.String(255)),
    *_stamps(),
    *_identity_keys(),
    sa.UniqueConstraint("tenant_id", "email"),
    sa.Index(None, "tenant_id", "employee_id"),
    sa.Index(None, "tenant_id", "modified_at"),
    _one_of("status", tuple(UserStatus)),
)

custom_fields = sa.Table(
    "custom_fields",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "key"),
    sa.UniqueConstraint("tenant_id", "uuid"),
    comment="Per-tenant user profile fields: the pages' flexible fields and custom attributes.",
)

user_field_values = sa.Table(
    "user_field_values",
    metadata,
    _tenant(),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("field_id", sa.Integer, nullable=False),
    sa.Column("value", sa.String(1024), nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "user_id", "field_id"),
    _ref("user_id", "users"),
    _ref("field_id", "custom_fields"),
    sa.Index(None, "tenant_id", "field_id", "value"),
)

groups = sa.Table(
    "groups",
    metadata,
    _tenant(),
    *_identity(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("type", sa.String(63)),
    sa.Column("name_i18n", JSONDocument),
    sa.Column("parent_id", sa.Integer),
    sa.Column("external_name", sa.String(255)),
    sa.Column("created_by_user_importer", sa.Boolean, nullable=False),
    sa.Column("extra", JSONDocument),
    *_stamps(),
    *_identity_keys(),
    sa.UniqueConstraint("tenant_id", "name"),
    # Deferred to commit, so that one batch may hold a group before its parent.
    sa.ForeignKeyConstraint(
        ["tenant_id", "parent_id"],
        ["groups.tenant_id", "groups.id"],
        deferrable=True,
        initially="DEFERRED",
    ),
    sa.Index(None, "tenant_id", "parent_id"),
    sa.Index(None, "tenant_id", "modified_at"),
)

group_tree = sa.Table(
    "group_tree",
    metadata,
    _tenant(),
    sa.Column("ancestor_id", sa.Integer, nullable=False),
    sa.Column("descendant_id", sa.Integer, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "ancestor_id", "descendant_id"),
    _ref("ancestor_id", "groups"),
    _ref("descendant_id", "groups"),
    sa.Index(None, "tenant_id", "descendant_id", "ancestor_id"),
    comment="Closure of the group tree (each group is its own ancestor at depth 0), kept "
    "current by the write path so that 'a group and all its descendants' is one join.",
)

memberships = sa.Table(
    "memberships",
    metadata,
    _tenant(),
    sa.Column("group_id", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "group_id", "user_id"),
    _ref("group_id", "groups"),
    _ref("user_id", "users"),
    sa.Index(None, "tenant_id", "user_id", "group_id"),
)

contents = sa.Table(
    "contents",
    metadata,
    _tenant(),
    *_identity(),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("identifier", sa.String(255)),
    sa.Column("type", sa.String(63)),
    sa.Column("duration", sa.Integer, comment="Theoretical duration in minutes."),
    sa.Column("training_type", sa.String(16)),
    sa.Column("accreditation_points", sa.Float),
    sa.Column("sku", sa.String(63)),
    sa.Column("abbreviation", sa.String(63)),
    sa.Column("published", sa.Boolean, nullable=False),
    *_stamps(),
    *_identity_keys(),
    sa.Index(None, "tenant_id", "kind", "name"),
    sa.Index(None, "tenant_id", "sku"),
    _one_of("kind", CONTENT_KINDS),
    _one_of("training_type", tuple(TrainingType), nullable=True),
    comment="The catalog: activities (modules), courses, journeys and their sections, "
    "programmes, skills (badges) and paths share one table and one id namespace.",
)

content_items = sa.Table(
    "content_items",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("uuid", sa.String(36), nullable=False),
    sa.Column("parent_id", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("child_id", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "uuid"),
    sa.UniqueConstraint("tenant_id", "parent_id", "position"),
    _ref("parent_id", "contents"),
    _ref("child_id", "contents"),
    sa.Index(None, "tenant_id", "child_id"),
    comment="Ordered composition: course items of a course, sections of a journey, "
    "activities of a section or programme. Course items carry their own uuid (iSpring's "
    "courseItemId).",
)

path_steps = sa.Table(
    "path_steps",
    metadata,
    _tenant(),
    sa.Column("path_id", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("content_id", sa.Integer, nullable=False),
    sa.Column("mandatory", sa.Boolean, nullable=False),
    sa.Column("due_at", Timestamp, comment="Absolute due date."),
    sa.Column("due_days", sa.Integer, comment="Due date relative to enrollment, in days."),
    sa.Column("min_score", sa.Float),
    sa.Column("max_attempts", sa.Integer),
    sa.Column("needs_correction", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "path_id", "position"),
    _ref("path_id", "contents"),
    _ref("content_id", "contents"),
    sa.Index(None, "tenant_id", "content_id"),
)

path_sessions = sa.Table(
    "path_sessions",
    metadata,
    _tenant(),
    *_identity(),
    sa.Column("path_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(512)),
    sa.Column("starts_at", Timestamp, nullable=False),
    sa.Column("ends_at", Timestamp),
    sa.Column("time_limit", sa.Integer, comment="Minutes allowed to complete the path."),
    sa.Column("mandatory_replay", sa.Boolean, nullable=False),
    *_stamps(),
    *_identity_keys(),
    _ref("path_id", "contents"),
    sa.Index(None, "tenant_id", "path_id"),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    _tenant(),
    *_identity(),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("content_id", sa.Integer, nullable=False),
    sa.Column("session_id", sa.Integer),
    sa.Column("mandatory", sa.Boolean, nullable=False),
    sa.Column("access_at", Timestamp),
    sa.Column("due_at", Timestamp),
    sa.Column("expires_at", Timestamp),
    sa.Column("unenrolled_at", Timestamp),
    *_stamps(),
    *_identity_keys(),
    _ref("user_id", "users"),
    _ref("content_id", "contents"),
    _ref("session_id", "path_sessions"),
    sa.Index(None, "tenant_id", "user_id", "content_id"),
    sa.Index(None, "tenant_id", "content_id"),
    sa.Index(None, "tenant_id", "session_id"),
    sa.Index(None, "tenant_id", "modified_at"),
)

results = sa.Table(
    "results",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("content_id", sa.Integer, nullable=False),
    sa.Column(
        "content_kind",
        sa.String(16),
        nullable=False,
        comment="The content's kind, which never changes, copied by the write path.",
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column(
        "enrollment_type",
        sa.String(12),
        nullable=False,
        comment="How the person's current enrollments in the content make it to them, kept "
        "by the write path (learnreport.store.tallies).",
    ),
    sa.Column("progress", sa.Float, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("grade", sa.String(63)),
    sa.Column("time_spent", sa.Integer, nullable=False, comment="Seconds."),
    sa.Column("views", sa.Integer, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("started_at", Timestamp),
    sa.Column("completed_at", Timestamp),
    sa.Column("failed_at", Timestamp),
    sa.Column("graded_at", Timestamp),
    sa.Column("expires_at", Timestamp),
    sa.Column("expired_at", Timestamp),
    sa.Column("seen_at", Timestamp),
    sa.Column("last_nudged_at", Timestamp),
    sa.Column("certificate_issued_at", Timestamp),
    *_stamps(),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "external_id"),
    sa.UniqueConstraint("tenant_id", "user_id", "content_id", "attempt"),
    _ref("user_id", "users"),
    _ref("content_id", "contents"),
    sa.Index(None, "tenant_id", "content_id", "id"),
    sa.Index(None, "tenant_id", "modified_at"),
    _one_of("state", tuple(ResultState)),
    _one_of("content_kind", CONTENT_KINDS),
    _one_of("enrollment_type", tuple(EnrollmentType)),
    comment="One row per user x content x attempt: a reset starts a new attempt with a new id.",
)


def _tally(name: str, key: str, refers_to: str, comment: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        _tenant(),
        sa.Column(key, sa.Integer, nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("enrollment_type", sa.String(12), nullable=False),
        sa.Column("pairs", sa.Integer, nullable=False),
        sa.Column("progress", sa.Float, nullable=False, comment="The sum of the pairs' progress."),
        sa.PrimaryKeyConstraint("tenant_id", key, "state", "enrollment_type"),
        _ref(key, refers_to),
        _one_of("state", tuple(ResultState)),
        _one_of("enrollment_type", tuple(EnrollmentType)),
        comment=comment,
    )


content_tallies = _tally(
    "content_tallies",
    "content_id",
    "contents",
    "How many person x content pairs stand in each state and enrollment type on each content, "
    "kept current by the write path (learnreport.store.tallies).",
)

group_tallies = _tally(
    "group_tallies",
    "group_id",
    "groups",
    "The same per group, counting each pair under every group its person is a direct member of.",
)

credentials = sa.Table(
    "credentials",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("public_id", sa.String(100), nullable=False, comment="Client id or API key id."),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(80), nullable=False),
    sa.Column("scopes", JSONDocument, comment="NULL: every scope the role allows, now or later."),
    sa.Column("limited_to_groups", sa.Boolean, nullable=False),
    sa.Column("description", sa.String(255)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.Column("last_used_at", Timestamp),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "public_id"),
    _one_of("kind", ("client", "key")),
    comment="OAuth2 clients and API keys; secrets are stored hashed only.",
)

credential_groups = sa.Table(
    "credential_groups",
    metadata,
    _tenant(),
    sa.Column("credential_id", sa.Integer, nullable=False),
    sa.Column("group_id", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "credential_id", "group_id"),
    _ref("credential_id", "credentials"),
    _ref("group_id", "groups"),
    sa.Index(None, "tenant_id", "group_id"),
    comment="The groups whose subtrees limit what a credential sees.",
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("private_key", sa.Text, nullable=False, comment="PEM (PKCS#8)."),
    sa.Column("created_at", Timestamp, nullable=False),
    comment="Keys signing access tokens, server-wide: the newest signs, every one verifies.",
)

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    comment="Random secrets the server keeps for itself, created on first use.",
)

statements = sa.Table(
    "statements",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("statement_id", sa.String(36), nullable=False, comment="The xAPI id, lowercase."),
    sa.Column("actor", sa.String(1024), nullable=False, comment="mailto:EMAIL or HOMEPAGE|NAME."),
    sa.Column("verb", sa.String(1024), nullable=False),
    sa.Column("activity", sa.String(2048), comment="The object's id when it is an Activity."),
    sa.Column("registration", sa.String(36)),
    sa.Column("voids", sa.String(36), comment="The statement a voiding statement voids."),
    sa.Column("voided", sa.Boolean, nullable=False),
    sa.Column("user_id", sa.Integer, comment="The matched person, or NULL while unmatched."),
    sa.Column("content_id", sa.Integer, comment="The matched activity, or NULL."),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("stored", Timestamp, nullable=False),
    sa.Column("document", JSONDocument, nullable=False, comment="The statement as stored."),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "statement_id"),
    _ref("user_id", "users"),
    _ref("content_id", "contents"),
    sa.Index(None, "tenant_id", "user_id", "content_id"),
    sa.Index(None, "tenant_id", "actor"),
    sa.Index(None, "tenant_id", "activity"),
    sa.Index(None, "tenant_id", "voids"),
    sa.Index(None, "tenant_id", "stored"),
    sa.Index(None, "tenant_id", "content_id"),
    comment="xAPI statements as received; matched ones feed results through the write path.",
)

imports = sa.Table(
    "imports",
    metadata,
    _tenant(),
    sa.Column("id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False, comment="The file's name."),
    sa.Column("batch_size", sa.Integer, nullable=False),
    sa.Column("records", sa.Integer, nullable=False, comment="Records in committed batches."),
    sa.Column(
        "fingerprint",
        sa.String(64),
        nullable=False,
        comment="SHA-256 of the committed records, so a resume can tell the file is the same.",
    ),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.PrimaryKeyConstraint("tenant_id", "id"),
    sa.Index(None, "tenant_id", "kind", "source"),
    comment="File imports: each batch commits with its progress here, so an import stopped "
    "part way resumes after its last whole batch.",
)
