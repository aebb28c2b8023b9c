"""A deterministic benchmark dataset of any size, generated as a stream of write batches.

The demo's generator holds a whole tenant in memory, which does not scale to ten million
results. This one generates block by block of people, each block from its own seeded
random source, so memory holds one block and the same size always gives the same records,
whichever block is generated first. Records take the shapes `learnreport.ingest.demo`
writes, so the benchmarks read what a platform would push.
"""

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from learnreport.ingest.demo import STATE_WEIGHTS

BATCH = 50_000
"""Records per write batch, as `learnreport import --batch-size 50000` writes them: the
size a platform team would choose for a first bulk load. M builds taken in turns on one
host used 74 and 87 s of the writer's CPU in batches of 50,000, against 98 and 111 s in
batches of 10,000: each batch dirties the pages of the indexes that a load writes all over
(the modification times), and a page that several records of one batch change is written
to the log once."""

EPOCH = 1_767_225_600
"""2026-01-01T00:00:00Z, the dataset's 'today' (as the demo's), in Unix seconds."""

DAY = 86_400
SPAN_DAYS = 730
"""Results spread their dates over the two years before the epoch."""

SEED = 11
BLOCK_USERS = 5_000
"""People per generated block: enough for a batch of results to be full at every size,
few enough that a block at L (250,000 results) holds a few hundred MB."""

FIRST_NAMES = (
    "Anna",
    "Bram",
    "Chloé",
    "Daan",
    "Emma",
    "Finn",
    "Greta",
    "Hugo",
    "Iris",
    "Jonas",
    "Kim",
    "Lars",
    "Maya",
    "Noah",
    "Olga",
    "Pieter",
    "Quinn",
    "Rosa",
    "Sven",
    "Tess",
)
LAST_NAMES = (
    "de Vries",
    "Jansen",
    "Müller",
    "Smith",
    "García",
    "Rossi",
    "Nowak",
    "Dubois",
    "Berg",
    "Visser",
    "Schmidt",
    "Brown",
    "Bakker",
    "Meyer",
    "Hansen",
    "Lopez",
    "Fischer",
    "Wilson",
)
ACTIVITY_TYPES = ("learning-bite", "learning-bite", "video", "exam", "session", "assignment")
LEVELS = ("division", "region", "department", "unit", "team")
"""The tree's levels below the company: six levels with the root."""


@dataclass(frozen=True)
class Size:
    name: str
    results: int
    per_user: int
    activities: int
    fanout: tuple[int, ...]
    """Children per group at each level below the root, one entry per name in LEVELS."""

    @property
    def users(self) -> int:
        return self.results // self.per_user


SIZES = {
    "S": Size("S", 100_000, 10, 200, (3, 2, 2, 2, 2)),
    "M": Size("M", 1_000_000, 20, 300, (4, 3, 2, 2, 2)),
    "L": Size("L", 10_000_000, 50, 400, (5, 3, 3, 3, 2)),
}
SMALL = Size("small", 5_000, 10, 40, (2, 2, 1, 1, 1))
"""The second tenant's size: small, so that isolation shows in every figure."""


@dataclass(frozen=True)
class Tenant:
    slug: str
    name: str
    size: Size


def tenants(size: Size) -> tuple[Tenant, Tenant]:
    """The measured tenant and the small second one."""
    return Tenant("acme", "Acme Corporation", size), Tenant("globex", "Globex", SMALL)


def department(size: Size) -> tuple[str, str]:
    """The id and name of the mid-tree department the runner filters on and gives to a
    department administrator: the first group of the third level, a few percent of people."""
    path = (1,) * LEVELS.index("department")
    return _group_id("a", (*path, 1)), _group_name((*path, 1))


def completion_window() -> tuple[str, str]:
    """A completed_at range (inclusive dates) covering about a month in the middle."""
    return _day(EPOCH - 400 * DAY), _day(EPOCH - 370 * DAY)


def _at(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _day(seconds: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(seconds))


def _group_id(prefix: str, path: tuple[int, ...]) -> str:
    return f"{prefix}g-" + ".".join(map(str, path)) if path else f"{prefix}g-root"


def _group_name(path: tuple[int, ...]) -> str:
    level = LEVELS[len(path) - 1]
    return f"{level.capitalize()} " + ".".join(map(str, path))


class Generator:
    """One tenant's records, kind by kind, in an order the write path accepts: the tree and
    the catalog first, then per block of people their profiles, memberships, enrollments
    and results."""

    def __init__(self, tenant: Tenant, seed: int = SEED) -> None:
        self.tenant = tenant
        self.size = tenant.size
        self.seed = seed
        self.prefix = tenant.slug[0]
        self.teams: list[str] = []
        """The leaves of the tree, where people are members; known once the tree is made."""
        self.contents: list[str] = []
        """Every content a result may be about; known once the catalog is made."""

    def batches(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        rng = self._random("catalog")
        groups, self.teams = self.groups(rng)
        yield "groups", groups
        activities = self.activities(rng)
        yield "activities", activities
        catalog = self.catalog(rng, [a["id"] for a in activities])
        for kind in ("courses", "journeys", "programmes", "skills"):
            yield kind, catalog[kind]
        self.contents = [a["id"] for a in activities] + [
            record["id"]
            for kind in ("courses", "journeys", "programmes", "skills")
            for record in catalog[kind]
        ]
        for first in range(0, self.size.users, BLOCK_USERS):
            numbers = range(first, min(first + BLOCK_USERS, self.size.users))
            yield from self.block(self._random(f"block{first}"), numbers)

    def _random(self, label: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.tenant.slug}:{self.size.name}:{label}")

    def groups(self, rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
        p = self.prefix
        root = {
            "id": _group_id(p, ()),
            "uuid": _uuid(rng),
            "name": self.tenant.name,
            "type": "company",
        }
        groups, level, teams = [root], [()], []
        for depth, children in enumerate(self.size.fanout):
            below: list[tuple[int, ...]] = []
            for parent in level:
                for child in range(1, children + 1):
                    path = (*parent, child)
                    groups.append(
                        {
                            "id": _group_id(p, path),
                            "uuid": _uuid(rng),
                            "name": _group_name(path),
                            "type": LEVELS[depth],
                            "parent_id": _group_id(p, parent),
                        }
                    )
                    below.append(path)
            level = below
        teams = [_group_id(p, path) for path in level]
        return groups, teams

    def activities(self, rng: random.Random) -> list[dict[str, Any]]:
        return [
            {
                "id": f"{self.prefix}a{n:04d}",
                "uuid": _uuid(rng),
                "name": f"Activity {n}: {rng.choice(LAST_NAMES)} method",
                "identifier": f"ACT-{n:04d}",
                "type": (kind := rng.choice(ACTIVITY_TYPES)),
                "duration": rng.choice([5, 10, 15, 30, 45, 60, 90, 120]),
                "training_type": "formal" if kind in ("exam", "session") else "informal",
                "accreditation_points": rng.choice([None, 0.5, 1.0, 2.0]),
                "modified_at": _at(EPOCH - 800 * DAY),
            }
            for n in range(1, self.size.activities + 1)
        ]

    def catalog(self, rng: random.Random, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        p, count = self.prefix, max(len(ids) // 10, 2)
        return {
            "courses": [
                {
                    "id": f"{p}c{n:03d}",
                    "uuid": _uuid(rng),
                    "name": f"Course {n}",
                    "items": [{"activity_id": a, "uuid": _uuid(rng)} for a in rng.sample(ids, 4)],
                }
                for n in range(1, count + 1)
            ],
            "journeys": [
                {
                    "id": f"{p}j{n:02d}",
                    "uuid": _uuid(rng),
                    "name": f"Journey {n}",
                    "sections": [
                        {
                            "id": f"{p}j{n:02d}s{s}",
                            "uuid": _uuid(rng),
                            "name": f"Section {s}",
                            "activity_ids": rng.sample(ids, 3),
                        }
                        for s in range(1, 4)
                    ],
                }
                for n in range(1, count // 2 + 1)
            ],
            "programmes": [
                {
                    "id": f"{p}p{n}",
                    "uuid": _uuid(rng),
                    "title": f"Programme {n}",
                    "sku": f"P{n}-2026",
                    "abbreviation": f"P{n}",
                    "duration": 1200,
                    "activity_ids": rng.sample(ids, 6),
                }
                for n in range(1, count // 4 + 1)
            ],
            "skills": [
                {"id": f"{p}k{n:02d}", "uuid": _uuid(rng), "name": f"Skill {n}"}
                for n in range(1, count // 2 + 1)
            ],
        }

    def block(
        self, rng: random.Random, numbers: range
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """The records of one block of people, their results in batches of BATCH."""
        people = [self.user(rng, n) for n in numbers]
        yield "users", people
        yield (
            "memberships",
            [{"user_id": person["id"], "group_id": rng.choice(self.teams)} for person in people],
        )
        enrollments: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for person in people:
            self.progress(rng, person["id"], enrollments, results)
        for start in range(0, len(enrollments), BATCH):
            yield "enrollments", enrollments[start : start + BATCH]
        for start in range(0, len(results), BATCH):
            yield "results", results[start : start + BATCH]

    def user(self, rng: random.Random, n: int) -> dict[str, Any]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        login = f"{first}.{last}.{n}".lower().replace(" ", "")
        registered = EPOCH - rng.randrange(30 * DAY, 900 * DAY)
        return {
            "id": f"{self.prefix}u{n:07d}",
            "uuid": _uuid(rng),
            "username": login,
            "email": f"{login}@{self.tenant.slug}.example.com",
            "first_name": first,
            "last_name": last,
            "registration_date": _at(registered),
            "status": "active" if rng.random() < 0.92 else rng.choice(["pending", "suspended"]),
            "employee_id": f"E{n:07d}",
            "custom_fields": {"region": rng.choice(["EMEA", "AMER", "APAC"])},
            "modified_at": _at(registered),
        }

    def progress(
        self,
        rng: random.Random,
        person: str,
        enrollments: list[dict[str, Any]],
        results: list[dict[str, Any]],
    ) -> None:
        """Exactly `per_user` results of one person, in every state, some of them retakes
        after a failure, and an enrollment for most of the content they touch."""
        wanted = len(results) + self.size.per_user
        states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
        for content in rng.sample(self.contents, self.size.per_user):
            access = EPOCH - rng.randrange(DAY, SPAN_DAYS * DAY)
            if rng.random() < 0.75:
                mandatory = rng.random() < 0.7
                enrollments.append(
                    {
                        "id": f"e-{person}-{content}",
                        "user_id": person,
                        "content_id": content,
                        "mandatory": mandatory,
                        "access_at": _at(access),
                        "due_at": _at(access + 60 * DAY) if mandatory else None,
                        "modified_at": _at(access),
                    }
                )
            state = rng.choices(states, weights)[0]
            results.append(self.result(rng, person, content, 1, state, access))
            if state == "failed" and rng.random() < 0.4 and len(results) < wanted:
                retake = rng.choice(["passed", "in_progress", "failed"])
                results.append(self.result(rng, person, content, 2, retake, access))
            if len(results) == wanted:
                return

    def result(
        self, rng: random.Random, person: str, content: str, attempt: int, state: str, access: int
    ) -> dict[str, Any]:
        started = access + rng.randrange(3_600, 20 * DAY) if state != "not_started" else None
        done = min(started + rng.randrange(600, 10 * DAY), EPOCH) if started else None
        record: dict[str, Any] = {
            "id": f"r-{person}-{content}-{attempt}",
            "user_id": person,
            "content_id": content,
            "attempt": attempt,
            "state": state,
            "progress": {"not_started": 0.0, "in_progress": round(rng.uniform(5, 95), 1)}.get(
                state, 100.0
            ),
            "time_spent": rng.randrange(60, 5_400) if started else 0,
            "views": rng.randrange(1, 12) if started else 0,
            "started_at": _at(started) if started else None,
            "modified_at": _at(done or started or access),
        }
        if state in ("completed", "passed", "expired") and done:
            record["completed_at"] = _at(done)
        if state in ("completed", "passed", "failed", "awaiting_correction", "expired"):
            record["score"] = round(rng.uniform(70, 100) if state != "failed" else 35.0, 1)
        if state == "passed":
            record["grade"] = rng.choice(["good", "very good", "excellent"])
        if state == "failed" and done:
            record["failed_at"] = _at(done)
        if state == "expired":
            record["expired_at"] = _at(EPOCH - rng.randrange(DAY, 30 * DAY))
        return record


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
