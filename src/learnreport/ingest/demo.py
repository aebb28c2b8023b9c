"""A realistic, deterministic demo: two tenants written through the one write path.

`acme` is a company of a few hundred people in a department tree, with a catalog of
activities, courses, journeys, programmes, skills and paths, and tens of thousands of
results in every state; `globex` is small, so that tenant isolation is visible at once.
The same seed always gives the same records (ids, uuids, names and dates), so the demo
doubles as a fixture.
"""

import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from faker import Faker

from learnreport.ingest import Summary, upsert
from learnreport.store import tenants
from learnreport.store.types import format_timestamp

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""The demo's 'today': every date is placed around it, so runs on any day are identical."""

DIVISIONS = {
    "Sales": ["Benelux", "DACH", "Nordics", "North America"],
    "Engineering": ["Platform", "Mobile", "Data"],
    "Operations": ["Support", "Logistics"],
    "People": ["Recruiting", "Learning & Development"],
    "Finance": ["Accounting", "Controlling"],
}
TEAMS_PER_UNIT = 2
ACTIVITY_TYPES = ("learning-bite", "learning-bite", "video", "exam", "session", "assignment")
SKILLS = (
    "Negotiation", "Coaching", "Data literacy", "Public speaking", "Time management",
    "Feedback", "Customer empathy", "Project planning", "Security awareness", "Leadership",
)  # fmt: skip
PROGRAMMES = (
    ("People Analytics", "PA"), ("Digital HR", "DHR"), ("Learning & Development", "LD"),
    ("Compensation & Benefits", "CB"), ("HR Business Partner", "HRBP"),
)  # fmt: skip
STATE_WEIGHTS = {
    "not_started": 10,
    "in_progress": 22,
    "awaiting_correction": 3,
    "completed": 33,
    "passed": 14,
    "failed": 10,
    "expired": 8,
}


@dataclass(frozen=True)
class TenantPlan:
    slug: str
    name: str
    users: int
    results: int
    activities: int
    training_types: bool


def plans(users: int, results: int) -> list[TenantPlan]:
    return [
        TenantPlan("acme", "Acme Corporation", users, results, 100, training_types=True),
        TenantPlan("globex", "Globex", max(users // 20, 5), max(results // 50, 50), 12, False),
    ]


Progress = Callable[[str, int, float], None]
"""Told the kind, the number of records and the seconds spent writing each batch."""


def run(
    engine: sa.Engine,
    *,
    users: int = 300,
    results: int = 50_000,
    seed: int = 7,
    reset: bool = False,
    batch_size: int = 10_000,
    progress: Progress | None = None,
) -> dict[str, dict[str, Summary]] | None:
    """Write the demo tenants; None when they exist already and `reset` is not given."""
    with engine.begin() as connection:
        present = [p.slug for p in plans(users, results) if tenants.find(connection, p.slug)]
        if present and not reset:
            return None
        for slug in present:
            tenants.delete(connection, slug)
    written: dict[str, dict[str, Summary]] = {}
    for plan in plans(users, results):
        with engine.begin() as connection:
            tenant = tenants.create(
                connection, plan.slug, plan.name, training_types_enabled=plan.training_types
            )
        written[plan.slug] = {}
        for kind, batch in Generator(plan, seed).batches(batch_size):
            started = time.perf_counter()
            with engine.begin() as connection:
                summary = upsert(connection, tenant.id, kind, batch, now=_at(EPOCH))
            written[plan.slug].setdefault(kind, Summary(kind)).add(summary)
            if progress is not None:
                progress(kind, len(batch), time.perf_counter() - started)
    settle(engine)
    return written


def refresh_statistics(engine: sa.Engine) -> None:
    """Let the query planner see the tables as they now are. Right after a bulk load,
    PostgreSQL still plans with the statistics of the empty tables until autovacuum comes
    round, and picks nested loops that turn a 50 ms page into seconds."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def settle(engine: sa.Engine) -> None:
    """Leave a bulk-loaded database as autovacuum would: with the planner's statistics, and
    on PostgreSQL with the visibility map that `VACUUM` sets. Until then an index-only scan
    reads the table for every row it finds (a department's page at 1,000,000 results took
    26 ms before `VACUUM`, 16 ms after)."""
    if engine.dialect.name != "postgresql":
        refresh_statistics(engine)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")


def _at(moment: datetime) -> str:
    return format_timestamp(moment)


class Generator:
    """The records of one tenant, kind by kind, in an order the write path accepts."""

    def __init__(self, plan: TenantPlan, seed: int) -> None:
        self.plan = plan
        self.random = random.Random(f"{seed}:{plan.slug}")
        self.faker = Faker(["en_US", "nl_NL", "de_DE"])
        self.faker.seed_instance(f"{seed}:{plan.slug}")
        self.prefix = plan.slug[0]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def moment(self, days_before: float, days_after: float = 0) -> datetime:
        offset = self.random.uniform(-days_before, days_after)
        return (EPOCH + timedelta(days=offset)).replace(microsecond=0)

    def batches(self, size: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        groups, teams = self.groups()
        users = self.users()
        activities = self.activities()
        yield "groups", groups
        for chunk in _chunks(users, size):
            yield "users", chunk
        memberships = [
            {"user_id": user["id"], "group_id": self.random.choice(teams)} for user in users
        ]
        yield "memberships", memberships
        yield "activities", activities
        catalog = self.catalog(activities)
        for kind in ("courses", "journeys", "programmes", "skills", "paths", "path_sessions"):
            yield kind, catalog[kind]
        learning = [a["id"] for a in activities] + [c["id"] for c in catalog["courses"]]
        enrollments, results = self.progress(users, learning, catalog)
        for chunk in _chunks(enrollments, size):
            yield "enrollments", chunk
        for chunk in _chunks(results, size):
            yield "results", chunk

    def groups(self) -> tuple[list[dict[str, Any]], list[str]]:
        p = self.prefix
        root = {"id": f"{p}g-root", "uuid": self.uuid(), "name": self.plan.name, "type": "company"}
        groups, teams = [root], []
        divisions = DIVISIONS if self.plan.slug == "acme" else {"Sales": ["Benelux"], "People": []}
        for division, units in divisions.items():
            division_id = f"{p}g-{_slug(division)}"
            groups.append(
                {
                    "id": division_id,
                    "uuid": self.uuid(),
                    "name": division,
                    "type": "division",
                    "parent_id": root["id"],
                    "name_i18n": {"en": division, "nl": division},
                    "external_name": f"DIV-{division[:3].upper()}",
                }
            )
            for unit in units or [division]:
                unit_id = f"{division_id}-{_slug(unit)}"
                if units:
                    groups.append(
                        {
                            "id": unit_id,
                            "uuid": self.uuid(),
                            "name": f"{division} {unit}",
                            "type": "department",
                            "parent_id": division_id,
                            "extra": {"cost_center": str(self.random.randint(1000, 9999))},
                        }
                    )
                for team in range(1, TEAMS_PER_UNIT + 1):
                    team_id = f"{unit_id}-t{team}"
                    groups.append(
                        {
                            "id": team_id,
                            "uuid": self.uuid(),
                            "name": f"{division} {unit} team {team}",
                            "type": "team",
                            "parent_id": unit_id if units else division_id,
                            "created_by_user_importer": True,
                        }
                    )
                    teams.append(team_id)
        return groups, teams

    def users(self) -> list[dict[str, Any]]:
        statuses = ["active"] * 90 + ["pending"] * 4 + ["suspended"] * 3 + ["blocked"] * 3
        domain = f"{self.plan.slug}.example.com"
        people = []
        for number in range(1, self.plan.users + 1):
            first, last = self.faker.first_name(), self.faker.last_name()
            registered = self.moment(720, -30)
            user: dict[str, Any] = {
                "id": f"{self.prefix}u{number:06d}",
                "uuid": self.uuid(),
                "username": f"{first}.{last}.{number}".lower().replace(" ", ""),
                "email": f"{first}.{last}.{number}@{domain}".lower().replace(" ", ""),
                "first_name": first,
                "last_name": last,
                "avatar_url": f"https://avatars.{domain}/{number}.png",
                "registration_date": registered,
                "last_seen": self.moment(30),
                "contract_start_date": (registered - timedelta(days=14)).date(),
                "status": self.random.choice(statuses),
                "employee_id": f"E{number:06d}",
                "saml_username": f"{self.prefix}{number:06d}@sso.{domain}",
                "custom_fields": {
                    "job_title": self.faker.job()[:100],
                    "region": self.random.choice(["EMEA", "AMER", "APAC"]),
                },
                "modified_at": EPOCH - timedelta(days=1),
            }
            if self.random.random() < 0.08:
                user["contract_end_date"] = (EPOCH + timedelta(days=90)).date()
            people.append(user)
        return people

    def activities(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{self.prefix}a{number:04d}",
                "uuid": self.uuid(),
                "name": self.faker.catch_phrase()[:200],
                "identifier": f"ACT-{number:04d}",
                "type": (kind := self.random.choice(ACTIVITY_TYPES)),
                "duration": self.random.choice([5, 10, 15, 30, 45, 60, 90, 120]),
                "training_type": "formal" if kind in ("exam", "session") else "informal",
                "accreditation_points": self.random.choice([None, 0.5, 1.0, 2.0]),
                "modified_at": EPOCH - timedelta(days=60),
            }
            for number in range(1, self.plan.activities + 1)
        ]

    def catalog(self, activities: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        ids = [a["id"] for a in activities]
        p, pick = self.prefix, self.random.sample
        count = max(len(ids) // 10, 1)
        courses = [
            {
                "id": f"{p}c{n:03d}",
                "uuid": self.uuid(),
                "name": f"Course: {self.faker.bs().capitalize()}"[:200],
                "items": [{"activity_id": a, "uuid": self.uuid()} for a in pick(ids, 4)],
            }
            for n in range(1, count + 1)
        ]
        journeys = [
            {
                "id": f"{p}j{n:02d}",
                "uuid": self.uuid(),
                "name": f"Journey {n}: {self.faker.catch_phrase()}"[:200],
                "sections": [
                    {
                        "id": f"{p}j{n:02d}s{s}",
                        "uuid": self.uuid(),
                        "name": f"Section {s}",
                        "activity_ids": pick(ids, 3),
                    }
                    for s in range(1, 4)
                ],
            }
            for n in range(1, max(count // 2, 1) + 1)
        ]
        programmes = [
            {
                "id": f"{p}p{n}",
                "uuid": self.uuid(),
                "title": title,
                "sku": f"{abbreviation}-{2026}",
                "abbreviation": abbreviation,
                "duration": self.random.choice([600, 900, 1200, 1800]),
                "activity_ids": pick(ids, 6),
            }
            for n, (title, abbreviation) in enumerate(PROGRAMMES[: max(count // 2, 2)], start=1)
        ]
        skills = [
            {"id": f"{p}k{n:02d}", "uuid": self.uuid(), "name": name}
            for n, name in enumerate(SKILLS[: max(count, 3)], start=1)
        ]
        paths = [
            {
                "id": f"{p}path{n}",
                "uuid": self.uuid(),
                "name": f"Path {n}: onboarding track",
                "steps": [
                    {
                        "activity_id": activity,
                        "mandatory": step != 3,
                        "due_days": 7 * (step + 1) if step % 2 == 0 else None,
                        "due_at": _at(EPOCH + timedelta(days=30 * step)) if step % 2 else None,
                        "min_score": 70.0 if step == 2 else None,
                        "max_attempts": 3 if step == 2 else None,
                        "needs_correction": step == 4,
                    }
                    for step, activity in enumerate(pick(ids, 5))
                ],
            }
            for n in range(1, 3)
        ]
        sessions = [
            {
                "id": f"{path['id']}-{label}",
                "uuid": self.uuid(),
                "path_id": path["id"],
                "name": f"{path['name']} ({label})",
                "starts_at": start,
                "ends_at": start + timedelta(days=120),
                "time_limit": 60 * 24 * 90 if label == "spring" else None,
                "mandatory_replay": label == "autumn",
            }
            for path in paths
            for label, start in (
                ("spring", EPOCH - timedelta(days=260)),
                ("autumn", EPOCH - timedelta(days=60)),
                ("next", EPOCH + timedelta(days=60)),
            )
        ]
        return {
            "courses": courses,
            "journeys": journeys,
            "programmes": programmes,
            "skills": skills,
            "paths": paths,
            "path_sessions": sessions,
        }

    def progress(
        self,
        users: list[dict[str, Any]],
        learning: list[str],
        catalog: dict[str, list[dict[str, Any]]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Enrollments and results: every state, overdue work, and retakes after failures."""
        other = [
            *(c["id"] for kind in ("journeys", "programmes", "skills") for c in catalog[kind]),
            *(s["id"] for j in catalog["journeys"] for s in j["sections"]),
        ]
        contents = learning + other
        sections = {s["id"] for j in catalog["journeys"] for s in j["sections"]}
        per_user = max(self.plan.results // max(len(users), 1), 1)
        states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
        enrollments: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        rng = self.random
        for user in users:
            taken = rng.sample(contents, min(per_user, len(contents)))
            for content in taken:
                if len(results) >= self.plan.results:
                    break
                access = self.moment(300, -20)
                due = access + timedelta(days=rng.choice([14, 30, 60, 120]))
                mandatory = rng.random() < 0.7
                if rng.random() < 0.75 and content not in sections:
                    enrollments.append(
                        {
                            "id": f"e-{user['id']}-{content}",
                            "uuid": self.uuid(),
                            "user_id": user["id"],
                            "content_id": content,
                            "mandatory": mandatory,
                            "access_at": access,
                            "due_at": due if mandatory else None,
                            "expires_at": due + timedelta(days=365) if rng.random() < 0.2 else None,
                            "modified_at": access,
                        }
                    )
                state = rng.choices(states, weights)[0]
                results.append(self.result(user["id"], content, 1, state, access))
                if state == "failed" and rng.random() < 0.5:
                    retake = rng.choice(["passed", "in_progress", "failed"])
                    results.append(self.result(user["id"], content, 2, retake, access))
        return enrollments, results[: self.plan.results]

    def result(
        self, user: str, content: str, attempt: int, state: str, access: datetime
    ) -> dict[str, Any]:
        rng = self.random
        started = (
            access + timedelta(hours=rng.uniform(1, 24 * 20)) if state != "not_started" else None
        )
        if started is not None:
            started = started.replace(microsecond=0)
        done = started + timedelta(seconds=rng.randint(600, 864_000)) if started else None
        progress = {"not_started": 0.0, "in_progress": round(rng.uniform(5, 95), 1)}.get(
            state, 100.0
        )
        record: dict[str, Any] = {
            "id": f"r-{user}-{content}-{attempt}",
            "user_id": user,
            "content_id": content,
            "attempt": attempt,
            "state": state,
            "progress": progress,
            "time_spent": int(rng.uniform(60, 5400)) if started else 0,
            "views": rng.randint(1, 12) if started else 0,
            "started_at": started,
            "modified_at": done or started or access,
        }
        if state in ("completed", "passed", "failed", "awaiting_correction", "expired"):
            record["completed_at"] = done if state in ("completed", "passed", "expired") else None
            record["score"] = round(
                rng.uniform(70, 100) if state != "failed" else rng.uniform(10, 69), 1
            )
        if state == "passed":
            record["grade"] = rng.choice(["good", "very good", "excellent"])
            record["certificate_issued_at"] = done
        if state == "failed":
            record["failed_at"] = done
        if state in ("passed", "failed") and rng.random() < 0.5:
            record["graded_at"] = done
        if state == "expired":
            record["expired_at"] = EPOCH - timedelta(days=rng.randint(1, 30))
        elif state in ("completed", "passed") and rng.random() < 0.3:
            record["expires_at"] = EPOCH + timedelta(days=rng.randint(30, 365))
        if content.startswith(f"{self.prefix}k"):
            record["seen_at"] = started
            record["flagged"] = rng.random() < 0.05
            record["last_nudged_at"] = access if rng.random() < 0.2 else None
        return record


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
