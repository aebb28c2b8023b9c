"""What the path statistics read: a session, its path's steps, its learners' enrollments
and their attempts on the steps' contents.

The standing itself is `learnreport.domain.paths.path_stats`, a pure function of these
records; this module only fetches them, a constant number of queries for one learner or for
a page of learners, each limited to the tenant and to the people the principal may see.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from learnreport.domain.access import Principal
from learnreport.domain.paths import Attempt, Enrollment, Session, Step
from learnreport.reports.visibility import people_seen
from learnreport.store.schema import enrollments, path_sessions, path_steps, results, users

s, st, e, r, u = path_sessions.c, path_steps.c, enrollments.c, results.c, users.c


@dataclass(frozen=True, slots=True)
class SessionRecord:
    key: int
    session: Session
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Learner:
    enrollment_key: int
    user_key: int
    user_id: str
    email: str | None
    enrollment: Enrollment


def find_session(connection: sa.Connection, tenant_id: int, ref: str) -> SessionRecord | None:
    """The session whose id (the platform's) or uuid is `ref`, with its path's steps."""
    row = connection.execute(
        sa.select(s.id, s.path_id, s.starts_at, s.ends_at, s.time_limit, s.mandatory_replay)
        .where(s.tenant_id == tenant_id, sa.or_(s.external_id == ref, s.uuid == ref.lower()))
        .limit(1)
    ).first()
    if row is None:
        return None
    steps = connection.execute(
        sa.select(
            st.path_id, st.position, st.content_id, st.mandatory, st.due_at, st.due_days,
            st.min_score, st.max_attempts, st.needs_correction,
        )
        .where(st.tenant_id == tenant_id, st.path_id == row.path_id)
        .order_by(st.position)
    ).all()  # fmt: skip
    session = Session(row.path_id, row.starts_at, row.ends_at, row.time_limit, row.mandatory_replay)
    return SessionRecord(row.id, session, tuple(Step(*step) for step in steps))


def find_person(connection: sa.Connection, principal: Principal, ref: str) -> int | None:
    """The person whose id or email (in any case) is `ref`, if the principal may see them."""
    query = sa.select(u.id).where(
        u.tenant_id == principal.tenant_id,
        sa.or_(u.external_id == ref, u.email == ref.lower()),
    )
    seen = people_seen(u.id, principal.tenant_id, principal.groups)
    if seen is not None:
        query = query.where(seen)
    found: int | None = connection.execute(query.order_by(u.id).limit(1)).scalar()
    return found


def learners(
    connection: sa.Connection,
    principal: Principal,
    session_key: int,
    *,
    user_key: int | None = None,
    after: int | None = None,
    limit: int = 1,
) -> list[Learner]:
    """The enrollments in the session, latest first per person, in enrollment order."""
    latest = (
        sa.select(sa.func.max(e.id))
        .where(e.tenant_id == principal.tenant_id, e.session_id == session_key)
        .group_by(e.user_id)
    )
    query = (
        sa.select(e.id, e.user_id, u.external_id, u.email, e.access_at, e.due_at, e.unenrolled_at)
        .join_from(enrollments, users, sa.and_(u.tenant_id == e.tenant_id, u.id == e.user_id))
        .where(e.tenant_id == principal.tenant_id, e.id.in_(latest))
    )
    seen = people_seen(e.user_id, principal.tenant_id, principal.groups)
    if seen is not None:
        query = query.where(seen)
    if user_key is not None:
        query = query.where(e.user_id == user_key)
    if after is not None:
        query = query.where(e.id > after)
    rows = connection.execute(query.order_by(e.id).limit(limit)).all()
    return [
        Learner(row[0], row[1], row[2], row[3], Enrollment(row[4], row[5], row[6])) for row in rows
    ]


def attempts(
    connection: sa.Connection,
    tenant_id: int,
    user_keys: Sequence[int],
    steps: Iterable[Step],
) -> dict[int, list[Attempt]]:
    """Every attempt of these people on the contents of these steps, by person."""
    contents = sorted({step.content_id for step in steps})
    found: dict[int, list[Attempt]] = defaultdict(list)
    if not contents or not user_keys:
        return found
    rows = connection.execute(
        sa.select(
            r.user_id, r.content_id, r.attempt, r.state, r.modified_at, r.progress, r.score,
            r.time_spent, r.completed_at,
        ).where(
            r.tenant_id == tenant_id,
            r.user_id.in_(sorted(set(user_keys))),
            r.content_id.in_(contents),
        )
    ).all()  # fmt: skip
    for row in rows:
        found[row[0]].append(Attempt(*row[1:]))
    return found
