"""Every kind of record the write path accepts, and how each lands in the store."""

from learnreport.ingest import catalog, people
from learnreport.ingest.batches import Reference, Target
from learnreport.ingest.records import (
    ActivityRecord,
    CourseRecord,
    EnrollmentRecord,
    GroupRecord,
    JourneyRecord,
    PathRecord,
    PathSessionRecord,
    ProgrammeRecord,
    ResultRecord,
    SkillRecord,
    UserRecord,
)
from learnreport.store.schema import contents, enrollments, groups, path_sessions, results, users

_USER = Reference(users, "user_id", "user")

TARGETS: dict[str, Target] = {
    "users": Target(
        users,
        UserRecord,
        person="id",
        nested=("custom_fields",),
        prepare=people.lowercase_emails,
        finish=people.write_custom_fields,
    ),
    "groups": Target(
        groups,
        GroupRecord,
        references={"parent_id": Reference(groups, "parent_id", "group")},
        check=people.refuse_cycles,
        finish=people.rebuild_tree,
    ),
    "activities": Target(contents, ActivityRecord, fixed={"kind": "activity"}),
    "courses": Target(
        contents,
        CourseRecord,
        nested=("items",),
        fixed={"kind": "course"},
        check=catalog.check_items,
        finish=catalog.write_items,
    ),
    "journeys": Target(
        contents,
        JourneyRecord,
        nested=("sections",),
        fixed={"kind": "journey"},
        check=catalog.check_journey,
        finish=catalog.write_journey,
    ),
    "programmes": Target(
        contents,
        ProgrammeRecord,
        nested=("activity_ids",),
        renamed={"title": "name"},
        fixed={"kind": "programme"},
        check=catalog.check_programme,
        finish=catalog.write_programme_items,
    ),
    "skills": Target(contents, SkillRecord, fixed={"kind": "skill"}),
    "paths": Target(
        contents,
        PathRecord,
        nested=("steps",),
        fixed={"kind": "path"},
        check=catalog.check_path,
        finish=catalog.write_steps,
    ),
    "path_sessions": Target(
        path_sessions,
        PathSessionRecord,
        references={"path_id": Reference(contents, "path_id", "path", ("path",))},
    ),
    "enrollments": Target(
        enrollments,
        EnrollmentRecord,
        person="user_id",
        references={
            "user_id": _USER,
            "content_id": catalog.content("content", catalog.ENROLLABLE),
            "path_session_id": Reference(path_sessions, "session_id", "path session"),
        },
        check=catalog.check_enrollment,
        tallied=True,
    ),
    "results": Target(
        results,
        ResultRecord,
        person="user_id",
        references={
            "user_id": _USER,
            "content_id": catalog.content("content", catalog.RESULTABLE, "content_kind"),
        },
        tallied=True,
    ),
}

KINDS = (*TARGETS, "memberships")
"""Every kind, in an order in which each only refers to kinds before it."""

PEOPLE_KINDS = ("users", "memberships", "enrollments", "results")
"""The kinds a writer limited to some departments may write: records of people, whom the
departments hold, unlike groups and the catalog, which the whole tenant shares."""
