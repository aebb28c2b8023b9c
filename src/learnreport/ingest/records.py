"""The shape of each kind of record the write path accepts.

Records use the field names of the native reports and refer to one another by the
platform's own ids (`id`, `user_id`, `content_id`, ...). They are declared as msgspec
structs because validating a batch of 10,000 records must cost a fraction of writing it:
msgspec checks types, ranges and unknown fields in C.
"""

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from learnreport.domain.states import ResultState, TrainingType, UserStatus

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Uuid = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Text = Annotated[str, msgspec.Meta(max_length=255)]
Code = Annotated[str, msgspec.Meta(max_length=63)]
"""A short label: a type, a grade, a SKU, an abbreviation."""
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=2048)]
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class Record(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields every record may carry: when the platform created and last changed it."""

    created_at: Instant | None = None
    modified_at: Instant | None = None


class UserRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    username: Text | None = None
    email: Email | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    avatar_url: Url | None = None
    registration_date: Instant | None = None
    last_seen: Instant | None = None
    contract_start_date: date | None = None
    contract_end_date: date | None = None
    status: UserStatus = UserStatus.ACTIVE
    employee_id: Text | None = None
    saml_username: Text | None = None
    custom_fields: dict[Text, Annotated[str, msgspec.Meta(max_length=1024)] | None] | None = None


class GroupRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    name: Text
    type: Code | None = None
    name_i18n: dict[Text, Text] | None = None
    parent_id: Id | None = None
    external_name: Text | None = None
    created_by_user_importer: bool = False
    extra: dict[str, Any] | None = None


class MembershipRecord(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    user_id: Id
    group_id: Id


class ContentRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    name: Name
    published: bool = True


class ActivityRecord(ContentRecord, kw_only=True):
    identifier: Text | None = None
    type: Code | None = None
    duration: Count | None = None
    training_type: TrainingType | None = None
    accreditation_points: Annotated[float, msgspec.Meta(ge=0)] | None = None


class CourseItem(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    activity_id: Id
    uuid: Uuid | None = None


class CourseRecord(ContentRecord, kw_only=True):
    items: list[CourseItem] = []


class SectionRecord(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    name: Name
    activity_ids: list[Id] = []


class JourneyRecord(ContentRecord, kw_only=True):
    sections: list[SectionRecord] = []


class ProgrammeRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    title: Name
    sku: Code | None = None
    abbreviation: Code | None = None
    duration: Count | None = None
    published: bool = True
    activity_ids: list[Id] = []


class SkillRecord(ContentRecord, kw_only=True):
    pass


class PathStep(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    activity_id: Id
    mandatory: bool = True
    due_at: Instant | None = None
    due_days: Count | None = None
    min_score: Percent | None = None
    max_attempts: Positive | None = None
    needs_correction: bool = False


class PathRecord(ContentRecord, kw_only=True):
    steps: list[PathStep] = []


class PathSessionRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    path_id: Id
    name: Name | None = None
    starts_at: Instant
    ends_at: Instant | None = None
    time_limit: Positive | None = None
    mandatory_replay: bool = False


class EnrollmentRecord(Record, kw_only=True):
    id: Id
    uuid: Uuid | None = None
    user_id: Id
    content_id: Id | None = None
    path_session_id: Id | None = None
    mandatory: bool = True
    access_at: Instant | None = None
    due_at: Instant | None = None
    expires_at: Instant | None = None
    unenrolled_at: Instant | None = None


class ResultRecord(Record, kw_only=True):
    id: Id
    user_id: Id
    content_id: Id
    attempt: Positive = 1
    state: ResultState
    progress: Percent = 0.0
    score: Annotated[float, msgspec.Meta(ge=0)] | None = None
    grade: Code | None = None
    time_spent: Count = 0
    views: Count = 0
    flagged: bool = False
    started_at: Instant | None = None
    completed_at: Instant | None = None
    failed_at: Instant | None = None
    graded_at: Instant | None = None
    expires_at: Instant | None = None
    expired_at: Instant | None = None
    seen_at: Instant | None = None
    last_nudged_at: Instant | None = None
    certificate_issued_at: Instant | None = None
