"""The example statements of the xAPI 1.0.3 specification, as written there, and the people
and activities they are about, written through the write path.

`SIMPLE` is "the simplest possible Statement" of Part Two 2.4; `SENT`, `ATTEMPTED` and `LONG`
are the example statements of Part Two Appendix A ("line breaks are for display purposes
only", so the one in `SENT`'s description is a space here); `VOIDING` is the voiding
example of 2.3.2; `CMI5` is Part One Appendix B, "a statement following the cmi5 Community
of Practice". The specification has no example with a completed or passed verb, so
`cmi5_session` writes a whole cmi5 session in the style of `CMI5`, ending in a pass.
"""

import copy
from typing import Any

import sqlalchemy as sa

from learnreport.ingest import ingest
from learnreport.store.tenants import Tenant

SIMPLE: dict[str, Any] = {
    "id": "12345678-1234-5678-1234-567812345678",
    "actor": {"mbox": "mailto:xapi@adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/created", "display": {"en-US": "created"}},
    "object": {"id": "http://example.adlnet.gov/xapi/example/activity"},
}

SENT: dict[str, Any] = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "timestamp": "2015-11-18T12:17:00+00:00",
    "actor": {"objectType": "Agent", "name": "Project Tin Can API",
              "mbox": "mailto:user@example.com"},
    "verb": {"id": "http://example.com/xapi/verbs#sent-a-statement", "display": {"en-US": "sent"}},
    "object": {
        "id": "http://example.com/xapi/activity/simplestatement",
        "definition": {
            "name": {"en-US": "simple statement"},
            "description": {"en-US": "A simple Experience API statement. Note that the LRS "
                            "does not need to have any prior information about the Actor "
                            "(learner), the verb, or the Activity/object."},
        },
    },
}  # fmt: skip

ATTEMPTED: dict[str, Any] = {
    "id": "7ccd3322-e1a5-411a-a67d-6a735c76f119",
    "timestamp": "2015-12-18T12:17:00+00:00",
    "actor": {"objectType": "Agent", "name": "Example Learner",
              "mbox": "mailto:example.learner@adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted", "display": {"en-US": "attempted"}},
    "object": {
        "id": "http://example.adlnet.gov/xapi/example/simpleCBT",
        "definition": {"name": {"en-US": "simple CBT course"},
                       "description": {"en-US": "A fictitious example CBT course."}},
    },
    "result": {"score": {"scaled": 0.95}, "success": True, "completion": True,
               "duration": "PT1234S"},
}  # fmt: skip

LONG: dict[str, Any] = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {
        "name": "Team PB",
        "mbox": "mailto:teampb@example.com",
        "member": [
            {"name": "Andrew Downes",
             "account": {"homePage": "http://www.example.com", "name": "13936749"},
             "objectType": "Agent"},
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/",
             "objectType": "Agent"},
            {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
             "objectType": "Agent"},
        ],
        "objectType": "Group",
    },
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attended",
             "display": {"en-GB": "attended", "en-US": "attended"}},
    "result": {
        "extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation":
                       "X:\\meetings\\minutes\\examplemeeting.one"},
        "success": True,
        "completion": True,
        "response": "We agreed on some example actions.",
        "duration": "PT1H0M0S",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [{"id": "http://www.example.com/meetings/series/267",
                        "objectType": "Activity"}],
            "category": [{
                "id": "http://www.example.com/meetings/categories/teammeeting",
                "objectType": "Activity",
                "definition": {
                    "name": {"en": "team meeting"},
                    "description": {"en": "A category of meeting used for regular team "
                                    "meetings."},
                    "type": "http://example.com/expapi/activities/meetingcategory",
                },
            }],
            "other": [
                {"id": "http://www.example.com/meetings/occurances/34257",
                 "objectType": "Activity"},
                {"id": "http://www.example.com/meetings/occurances/3425567",
                 "objectType": "Activity"},
            ],
        },
        "instructor": {"name": "Andrew Downes",
                       "account": {"homePage": "http://www.example.com", "name": "13936749"},
                       "objectType": "Agent"},
        "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    },
    "timestamp": "2013-05-18T05:32:34.804Z+00:00",
    "stored": "2013-05-18T05:32:34.804Z+00:00",
    "authority": {"account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"},
                  "objectType": "Agent"},
    "version": "1.0.0",
    "object": {
        "id": "http://www.example.com/meetings/occurances/34534",
        "definition": {
            "extensions": {"http://example.com/profiles/meetings/activitydefinitionextensions/room":
                           {"name": "Kilby", "id": "http://example.com/rooms/342"}},
            "name": {"en-GB": "example meeting", "en-US": "example meeting"},
            "description": {
                "en-GB": "An example meeting that happened on a specific occasion with certain "
                "people present.",
                "en-US": "An example meeting that happened on a specific occasion with certain "
                "people present.",
            },
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "moreInfo": "http://virtualmeeting.example.com/345256",
        },
        "objectType": "Activity",
    },
}  # fmt: skip
"""Written with a timestamp no ISO 8601 reader takes, `2013-05-18T05:32:34.804Z+00:00` (a
zone twice); `LONG_CORRECTED` has `+00:00` alone."""

LONG_CORRECTED = {**LONG, "timestamp": "2013-05-18T05:32:34.804+00:00",
                  "stored": "2013-05-18T05:32:34.804+00:00"}  # fmt: skip

VOIDING: dict[str, Any] = {
    "actor": {"objectType": "Agent", "name": "Example Admin",
              "mbox": "mailto:admin@example.adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
    "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
}  # fmt: skip

CMI5: dict[str, Any] = {
    "id": "2a41c918-b88b-4220-20a5-a4c32391a240",
    "actor": {"objectType": "Agent", "name": "Gert Frobe",
              "account": {"homePage": "http://example.adlnet.gov", "name": "1625378"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/failed", "display": {"en-US": "failed"}},
    "object": {"id": "https://example.adlnet.gov/AUidentifier", "objectType": "Activity"},
    "result": {
        "score": {"scaled": 0.65, "raw": 65, "min": 0, "max": 100},
        "success": False,
        "duration": "PT30M",
        "extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 100},
    },
    "context": {
        "registration": "ec231277-b27b-4c15-8291-d29225b2b8f7",
        "contextActivities": {"category": [
            {"id": "https://w3id.org/xapi/cmi5/context/categories/moveon"},
            {"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"},
        ]},
        "extensions": {"https://w3id.org/xapi/cmi5/context/extensions/sessionid":
                       "458240298378231"},
    },
    "timestamp": "2012-06-01T19:09:13.245+00:00",
}  # fmt: skip

AU = "https://example.adlnet.gov/AUidentifier"


def cmi5_session(*, start_minute: int = 10) -> list[dict[str, Any]]:
    """A later session of `CMI5`'s learner on the same AU: launched, initialized, passed,
    terminated, each statement shaped as cmi5 9.3 and 9.5 ask."""

    def statement(uuid_tail: int, verb: str, minute: int, **result: Any) -> dict[str, Any]:
        made = copy.deepcopy(CMI5)
        made["id"] = f"2a41c918-b88b-4220-20a5-{uuid_tail:012d}"
        made["verb"] = {"id": f"http://adlnet.gov/expapi/verbs/{verb}", "display": {"en-US": verb}}
        made["timestamp"] = f"2012-06-01T19:{start_minute + minute:02d}:00.000+00:00"
        made.pop("result")
        if result:
            made["result"] = result
        return made

    return [
        statement(1, "launched", 0),
        statement(2, "initialized", 1),
        statement(3, "passed", 20, score={"scaled": 0.9}, success=True, duration="PT19M"),
        statement(4, "terminated", 25, duration="PT24M"),
    ]


PEOPLE = [
    {"id": "p-xapi", "email": "xapi@adlnet.gov", "first_name": "Simple"},
    {"id": "p-learner", "email": "Example.Learner@adlnet.gov", "first_name": "Example"},
    {"id": "p-gert", "username": "1625378", "first_name": "Gert"},
]
ACTIVITIES = [
    {"id": "x-activity", "name": "Example activity",
     "identifier": "http://example.adlnet.gov/xapi/example/activity"},
    {"id": "x-cbt", "name": "Simple CBT course",
     "identifier": "http://example.adlnet.gov/xapi/example/simpleCBT"},
    {"id": "x-au", "name": "An AU", "identifier": AU},
]  # fmt: skip


def add_people_and_activities(engine: sa.Engine, tenant: Tenant) -> None:
    """The people and activities the examples are about, through the write path."""
    ingest(engine, tenant.id, "users", PEOPLE)
    ingest(engine, tenant.id, "activities", ACTIVITIES)
