"""xAPI statements as received: their shape, checked as xAPI 1.0.3 states it, and the
columns the store keeps of each.

The LRS requirements of Part Two 2.2 are the checklist: "The LRS MUST reject Statements
with any null values (except inside extensions) [...] with strings where numbers are
required [...] with any non-format-following key or value [...] where a key or value is not
allowed by this specification [...] where a key occurs multiple times within an object
[...] containing IRL or IRI values without a scheme." msgspec structs hold the shapes of
2.4 (an unknown property is refused, a number must be a number); the rules that span
properties (one inverse functional identifier, a raw score within min and max, a voiding
statement's object) are checked here by hand. Each statement is checked in full and
refused with its first fault, named by the statement's position, the property's path
and the reason.

A statement is stored as received, normalised only where 2.3.1 lets an LRS: its id in
lowercase, email domains in lowercase ("the domain portion of an e-mail address is case
insensitive"), and every context activity list an array ("The LRS MUST return every value in
the contextActivities Object as an array"). Its `stored` and `authority` are checked, then
left to the store to set.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import msgspec

from learnreport.domain.xapi import DURATION, VOIDED
from learnreport.ingest.errors import BatchRejected, RecordError
from learnreport.store.uuids import minted

UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
IRI = r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$"
"""Best effort, as 2.2 allows ("The LRS MAY use best-effort validation for IRL and IRI
formats"): a scheme, a colon, and no white space."""
MBOX = r"^mailto:[^@\s]+@[^@\s]+$"
SHA1 = r"^[0-9a-fA-F]{40}$"
SHA2 = r"^(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$"
LANGUAGE = (
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[Xx](?:-[A-Za-z0-9]{1,8})+)$"
)
"""RFC 5646 tags, as 2.2 asks: "The LRS MUST at least validate that the sequence of token
lengths for language map keys matches the RFC 5646 standard"."""
TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)"
)
VERSION = r"^1\.0\.\d+$"
ISO_DURATION = f"^(?:{DURATION.pattern})$"

FORMATS = {
    UUID: "is not a UUID in standard string form",
    IRI: "is not an IRI: an IRI starts with a scheme such as https: and holds no spaces",
    MBOX: "is not a mailto IRI: the required format is mailto:email address",
    SHA1: "is not the 40 hexadecimal digits of a SHA1 hash",
    SHA2: "is not the hexadecimal digits of a SHA-2 hash",
    LANGUAGE: "is not an RFC 5646 language tag",
    VERSION: "is not a 1.0.x version: the LRS MUST reject all Statements with a version "
    "specified that does not start with 1.0.",
    ISO_DURATION: "is not an ISO 8601 duration such as PT1H30M or PT5.2S",
}
"""What each format's refusal says, in place of msgspec's 'matching regex'."""
_FORMATS = {repr(pattern): reason for pattern, reason in FORMATS.items()}

MAX_DEPTH = 32
"""Objects and arrays nested deeper are refused: no statement needs more, and the store's
JSON writers stop not far beyond."""
ACTOR_BYTES = 1024
ACTIVITY_BYTES = 2048
"""The longest actor identifier and activity id the store indexes, in UTF-8 bytes."""

Uuid = Annotated[str, msgspec.Meta(pattern=UUID)]
Iri = Annotated[str, msgspec.Meta(pattern=IRI)]
LanguageTag = Annotated[str, msgspec.Meta(pattern=LANGUAGE)]
LanguageMap = dict[LanguageTag, str]
Extensions = dict[Iri, Any]
Text = Annotated[str, msgspec.Meta(min_length=1)]
Json = dict[str, Any]
T = TypeVar("T")


class _Shape(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Account(_Shape, kw_only=True):
    homePage: Iri
    name: Text


class Agent(_Shape, kw_only=True):
    objectType: Literal["Agent"] | None = None
    name: str | None = None
    mbox: Annotated[str, msgspec.Meta(pattern=MBOX)] | None = None
    mbox_sha1sum: Annotated[str, msgspec.Meta(pattern=SHA1)] | None = None
    openid: Iri | None = None
    account: Account | None = None


class Group(_Shape, kw_only=True):
    objectType: Literal["Group"]
    name: str | None = None
    member: list[Agent] | None = None
    mbox: Annotated[str, msgspec.Meta(pattern=MBOX)] | None = None
    mbox_sha1sum: Annotated[str, msgspec.Meta(pattern=SHA1)] | None = None
    openid: Iri | None = None
    account: Account | None = None


class Verb(_Shape, kw_only=True):
    id: Annotated[str, msgspec.Meta(pattern=IRI, max_length=1024)]
    display: LanguageMap | None = None


class InteractionComponent(_Shape, kw_only=True):
    id: Text
    description: LanguageMap | None = None


class Definition(_Shape, kw_only=True):
    name: LanguageMap | None = None
    description: LanguageMap | None = None
    type: Iri | None = None
    moreInfo: Iri | None = None
    extensions: Extensions | None = None
    interactionType: (
        Literal[
            "true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
            "sequencing", "likert", "numeric", "other",
        ]
        | None
    ) = None  # fmt: skip
    correctResponsesPattern: list[str] | None = None
    choices: list[InteractionComponent] | None = None
    scale: list[InteractionComponent] | None = None
    source: list[InteractionComponent] | None = None
    target: list[InteractionComponent] | None = None
    steps: list[InteractionComponent] | None = None


class Activity(_Shape, kw_only=True):
    objectType: Literal["Activity"] | None = None
    id: Iri
    definition: Definition | None = None


class StatementRef(_Shape, kw_only=True):
    objectType: Literal["StatementRef"]
    id: Uuid


class Score(_Shape, kw_only=True):
    scaled: Annotated[float, msgspec.Meta(ge=-1, le=1)] | None = None
    raw: float | None = None
    min: float | None = None
    max: float | None = None


class Result(_Shape, kw_only=True):
    score: Score | None = None
    success: bool | None = None
    completion: bool | None = None
    response: str | None = None
    duration: Annotated[str, msgspec.Meta(pattern=ISO_DURATION)] | None = None
    extensions: Extensions | None = None


class ContextActivities(_Shape, kw_only=True):
    parent: Activity | list[Activity] | None = None
    grouping: Activity | list[Activity] | None = None
    category: Activity | list[Activity] | None = None
    other: Activity | list[Activity] | None = None


class Context(_Shape, kw_only=True):
    registration: Uuid | None = None
    instructor: Json | None = None
    team: Json | None = None
    contextActivities: ContextActivities | None = None
    revision: str | None = None
    platform: str | None = None
    language: LanguageTag | None = None
    statement: StatementRef | None = None
    extensions: Extensions | None = None


class Attachment(_Shape, kw_only=True):
    usageType: Iri
    display: LanguageMap
    description: LanguageMap | None = None
    contentType: Text
    length: Annotated[int, msgspec.Meta(ge=0)]
    sha2: Annotated[str, msgspec.Meta(pattern=SHA2)]
    fileUrl: Iri | None = None


class SubStatement(_Shape, kw_only=True):
    """2.4.4.3: "A SubStatement MUST NOT have the "id", "stored", "version" or "authority"
    properties", which is why they are not declared here."""

    objectType: Literal["SubStatement"]
    actor: Json
    verb: Verb
    object: Json
    result: Result | None = None
    context: Context | None = None
    timestamp: str | None = None
    attachments: list[Attachment] | None = None


class StatementShape(_Shape, kw_only=True):
    id: Uuid | None = None
    actor: Json
    verb: Verb
    object: Json
    result: Result | None = None
    context: Context | None = None
    timestamp: str | None = None
    stored: str | None = None
    authority: Json | None = None
    version: Annotated[str, msgspec.Meta(pattern=VERSION)] | None = None
    attachments: list[Attachment] | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """A valid statement and the columns the store keeps of it."""

    index: int
    """Its position in the request."""
    id: str
    """Lowercase; assigned here when the statement came without one ("Ids MUST be
    generated by the LRS if a Statement is received without an id", 2.4.1)."""
    actor: str
    """Who it is about: `mailto:EMAIL` in lowercase, `HOMEPAGE|NAME` for an account,
    `sha1:HASH` or `openid:URI`; for a group `group:` and one of those, or
    `group:anonymous:` and a UUID of its own, since "A system consuming Statements MUST
    consider each Anonymous Group distinct even if it has an identical set of members"."""
    verb: str
    activity: str | None
    registration: str | None
    voids: str | None
    timestamp: str | None
    """When it happened, canonical UTC text; `None` until the store sets it to `stored`."""
    document: Json


class InvalidBody(ValueError):
    """A request body that is no JSON document a statement could be read from."""


class Invalid(ValueError):
    """One fault of a statement: the property's path and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def decode(body: bytes) -> Any:
    """The JSON of a request body, refusing what Python's reader would let through: a key
    twice in one object ("The LRS MUST reject Statements [...] where a key occurs multiple
    times within an object") and numbers that are not finite."""
    try:
        return json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidBody("the JSON nests too deeply") from None
    except ValueError as error:
        raise InvalidBody(f"not a JSON document: {error}") from None


def parse(value: Any, *, statement_id: str | None = None) -> list[Statement]:
    """The statements of a request body: one statement, or (without `statement_id`) an
    array of them. With `statement_id`, the body is the one statement PUT under that id,
    whose own id, "Where provided, [...] MUST match the statementId parameter of the
    request". The documents are normalised in place and become the statements' own.
    Raises `BatchRejected` naming each bad statement; accepts none of them then.
    """
    if statement_id is not None:
        if not isinstance(value, dict):
            raise BatchRejected("statements", [RecordError(0, None, "expected one statement")])
        raws = [value]
    elif isinstance(value, dict):
        raws = [value]
    elif isinstance(value, list):
        raws = value
    else:
        raise BatchRejected(
            "statements", [RecordError(0, None, "expected a statement or an array of them")]
        )
    parsed, errors = [], []
    for index, raw in enumerate(raws):
        try:
            parsed.append(_statement(index, raw, statement_id))
        except Invalid as error:
            errors.append(RecordError(index, error.path or None, error.reason))
    errors += _repeated_ids(parsed)
    if errors:
        raise BatchRejected("statements", errors)
    return parsed


def agent_key(text: str) -> str:
    """The actor identifier of an Agent or Identified Group given as JSON, as the `agent`
    parameter of GET statements gives it; `Invalid` if it is none."""
    try:
        value = decode(text.encode())
    except InvalidBody as error:
        raise Invalid("", str(error)) from None
    key = _agent_or_group(value, "")
    if key.startswith(ANONYMOUS):
        raise Invalid("", "an anonymous group identifies no one; give an Agent or Identified Group")
    return key


def same_statement(stored: Mapping[str, Any], received: Mapping[str, Any]) -> bool:
    """Whether a statement received under a stored statement's id is that statement.

    2.3.1: "Differences which could have been caused by exceptions to Statement
    immutability MUST be ignored": `stored` and `authority`, which the LRS sets; a
    `version` or `timestamp` the LRS filled in because the statement came without one;
    a timestamp written in another zone or with more than millisecond precision; the
    order of a group's members. Every other difference counts.
    """
    ignored = {"stored", "authority", *({"timestamp"} - received.keys())}
    return _comparable(stored, ignored) == _comparable(received, ignored)


ANONYMOUS = "group:anonymous:"
GROUP = "group:"


def _statement(index: int, raw: Any, statement_id: str | None) -> Statement:
    _walk(raw)
    shape = _convert(raw, StatementShape, "")
    if statement_id and shape.id and shape.id.lower() != statement_id.lower():
        raise Invalid("id", f"differs from the statementId parameter, {statement_id}")
    document: Json = raw
    document["id"] = (shape.id or statement_id or minted()).lower()
    actor = _agent_or_group(document["actor"], "actor")
    activity, voids = _object(document, shape)
    _check_outcome(document, shape.result, shape.context, activity, "")
    timestamp = instant(shape.timestamp, "timestamp") if shape.timestamp else None
    if shape.stored is not None:
        instant(shape.stored, "stored")
    if shape.authority is not None:
        _agent_or_group(shape.authority, "authority")
    _check_attachments(shape.attachments, "attachments")
    document.pop("stored", None)
    document.pop("authority", None)
    registration = shape.context.registration if shape.context else None
    return Statement(
        index=index,
        id=document["id"],
        actor=actor,
        verb=shape.verb.id,
        activity=activity,
        registration=registration.lower() if registration else None,
        voids=voids,
        timestamp=timestamp,
        document=document,
    )


def _object(document: Json, shape: StatementShape) -> tuple[str | None, str | None]:
    """The activity id when the object is an Activity, and the statement it voids when the
    statement is a voiding one ("the Object of that voiding Statement MUST have the
    objectType property set to StatementRef", 2.3.2)."""
    raw = document["object"]
    kind = raw.get("objectType", "Activity")
    activity = _any_object(raw, "object", substatement=True)
    if shape.verb.id != VOIDED:
        return activity, None
    if kind != "StatementRef":
        raise Invalid("object.objectType", "a voiding statement's object must be a StatementRef")
    return None, raw["id"].lower()


def _any_object(raw: Json, path: str, *, substatement: bool) -> str | None:
    """Check an object of any kind; its id when it is an Activity."""
    kind = raw.get("objectType", "Activity")
    if kind == "Activity":
        activity = _convert(raw, Activity, path)
        if len(activity.id.encode()) > ACTIVITY_BYTES:
            raise Invalid(_join(path, "id"), f"is longer than {ACTIVITY_BYTES} bytes")
        return activity.id
    if kind in ("Agent", "Group"):
        _agent_or_group(raw, path)
    elif kind == "StatementRef":
        _convert(raw, StatementRef, path)
    elif kind == "SubStatement" and substatement:
        _substatement(raw, path)
    else:
        allowed = "Activity, Agent, Group" + (", SubStatement" if substatement else "")
        raise Invalid(_join(path, "objectType"), f"expected {allowed} or StatementRef")
    return None


def _substatement(raw: Json, path: str) -> None:
    """2.4.4.3: "A SubStatement MUST NOT contain a SubStatement of its own, i.e., cannot be
    nested"; otherwise it holds what a statement holds."""
    shape = _convert(raw, SubStatement, path)
    _agent_or_group(raw["actor"], _join(path, "actor"))
    activity = _any_object(raw["object"], _join(path, "object"), substatement=False)
    _check_outcome(raw, shape.result, shape.context, activity, path)
    if shape.timestamp is not None:
        instant(shape.timestamp, _join(path, "timestamp"))
    _check_attachments(shape.attachments, _join(path, "attachments"))


def _check_outcome(
    owner: Json, result: Result | None, context: Context | None, activity: str | None, path: str
) -> None:
    if result is not None and result.score is not None:
        _check_score(result.score, _join(path, "result.score"))
    if context is not None:
        _check_context(owner["context"], context, activity, _join(path, "context"))


def _check_score(score: Score, path: str) -> None:
    """2.4.5.1: min is a "Decimal number less than max (if present)"; raw a "Decimal number
    between min and max (if present, otherwise unrestricted), inclusive"."""
    if score.min is not None and score.max is not None and score.min >= score.max:
        raise Invalid(_join(path, "min"), "must be less than max")
    if score.raw is not None and score.min is not None and score.raw < score.min:
        raise Invalid(_join(path, "raw"), "is less than min")
    if score.raw is not None and score.max is not None and score.raw > score.max:
        raise Invalid(_join(path, "raw"), "is more than max")


def _check_context(raw: Json, context: Context, activity: str | None, path: str) -> None:
    """2.4.6: "The revision property MUST only be used if the Statement's Object is an
    Activity. The platform property MUST only be used if the Statement's Object is an
    Activity." Single context activities become arrays."""
    if context.instructor is not None:
        _agent_or_group(context.instructor, _join(path, "instructor"))
    if context.team is not None:
        if context.team.get("objectType") != "Group":
            raise Invalid(_join(path, "team.objectType"), "a team is a Group")
        _agent_or_group(context.team, _join(path, "team"))
    for name in ("revision", "platform"):
        if name in raw and activity is None:
            raise Invalid(_join(path, name), "may only be used when the object is an Activity")
    activities = raw.get("contextActivities", {})
    for kind, value in activities.items():
        if isinstance(value, dict):
            activities[kind] = [value]


def _check_attachments(attachments: list[Attachment] | None, path: str) -> None:
    """Statements come as application/json only, and 2.4.11 wants such a batch to "include
    a fileUrl for every attachment"."""
    for n, attachment in enumerate(attachments or ()):
        if attachment.fileUrl is None:
            raise Invalid(
                f"{path}[{n}].fileUrl",
                "is required: statements are taken as application/json only, so every "
                "attachment needs a fileUrl",
            )


def _agent_or_group(raw: Any, path: str) -> str:
    """Check an Agent or Group; its actor identifier.

    2.4.2.1: "An Agent MUST be identified by one (1) of the four types of Inverse Functional
    Identifiers"; 2.4.2.2: "An Identified Group MUST include exactly one (1) Inverse
    Functional Identifier", "An Anonymous Group MUST include a 'member' property listing
    constituent Agents" and "MUST NOT include any Inverse Functional Identifiers".
    """
    if not isinstance(raw, dict):
        raise Invalid(path, "expected an Agent or Group object")
    if raw.get("objectType") == "Group":
        group = _convert(raw, Group, path)
        for n, member in enumerate(group.member or ()):
            _identify(member, f"{_join(path, 'member')}[{n}]")
            _lowercase_domain(raw["member"][n])
        _lowercase_domain(raw)
        if _identifiers(group):
            return GROUP + _bounded(_identify(group, path), path)
        if not group.member:
            raise Invalid(_join(path, "member"), "an anonymous group must list its members")
        return ANONYMOUS + minted()
    agent = _convert(raw, Agent, path)
    _lowercase_domain(raw)
    return _bounded(_identify(agent, path), path)


def _identifiers(who: Agent | Group) -> list[str]:
    return [
        name
        for name in ("mbox", "mbox_sha1sum", "openid", "account")
        if getattr(who, name) is not None
    ]


def _identify(who: Agent | Group, path: str) -> str:
    names = _identifiers(who)
    if len(names) != 1:
        found = ", ".join(names) if names else "none"
        raise Invalid(
            path,
            "needs exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or "
            f"account); it has {found}",
        )
    if who.mbox is not None:
        return who.mbox.lower()
    if who.mbox_sha1sum is not None:
        return "sha1:" + who.mbox_sha1sum.lower()
    if who.account is not None:
        return f"{who.account.homePage}|{who.account.name}"
    assert who.openid is not None
    return "openid:" + who.openid


def _bounded(key: str, path: str) -> str:
    if len(key.encode()) > ACTOR_BYTES:
        raise Invalid(path, f"its identifier is longer than {ACTOR_BYTES} bytes")
    return key


def _lowercase_domain(raw: Json) -> None:
    mbox = raw.get("mbox")
    if isinstance(mbox, str):
        local, _, domain = mbox.rpartition("@")
        raw["mbox"] = f"{local}@{domain.lower()}"


def instant(text: str, path: str) -> str:
    """4.5: "A Timestamp MUST be formatted according to ISO 8601"; this LRS also wants the
    zone ("A Timestamp SHOULD* include the time zone"), since a time without one is no
    instant. Canonical UTC text."""
    if TIMESTAMP.fullmatch(text) is None:
        raise Invalid(
            path, f"{text!r} is not an ISO 8601 timestamp with a zone, such as 2025-01-31T08:30:00Z"
        )
    if text.endswith(("-00:00", "-0000", "-00")):
        raise Invalid(path, f"{text!r}: ISO 8601 writes a zero offset as Z or +00:00")
    try:
        instant = datetime.fromisoformat(text.replace(",", ".")).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise Invalid(path, f"{text!r} is not a valid timestamp: {error}") from None
    return (
        f"{instant.year:04d}-{instant.month:02d}-{instant.day:02d}"
        f"T{instant.hour:02d}:{instant.minute:02d}:{instant.second:02d}Z"
    )


def _convert(raw: Any, shape: type[T], path: str) -> T:
    try:
        return msgspec.convert(raw, shape)
    except msgspec.ValidationError as error:
        where, reason = _explain(str(error))
        raise Invalid(_join(path, where), reason) from None


_AT = re.compile(r"^(?P<reason>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>.*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>.*)`$")
_PATTERN = re.compile(r"^Expected `str` matching regex (?P<pattern>'.*')$")


def _explain(message: str) -> tuple[str, str]:
    """msgspec's message ("Expected `str`, got `int` - at `$.verb.id`") as a path and a
    reason that a person sending statements can act on."""
    match = _AT.match(message)
    assert match is not None
    where = (match["path"] or "").lstrip(".")
    reason = match["reason"]
    if unknown := _UNKNOWN.match(reason):
        return _join(where, unknown["name"]), "is not a property xAPI 1.0.3 allows here"
    if missing := _MISSING.match(reason):
        return _join(where, missing["name"]), "is required"
    if pattern := _PATTERN.match(reason):
        reason = _FORMATS.get(pattern["pattern"], reason)
    return where, f"a key {reason}" if match["key"] else reason


def _walk(raw: Any) -> None:
    """Refuse what no shape declares: null outside extensions, text the store cannot keep,
    numbers that are not finite, and nesting deeper than `MAX_DEPTH`."""
    stack: list[tuple[Any, str, int, bool]] = [(raw, "", 0, False)]
    while stack:
        value, path, depth, in_extension = stack.pop()
        if depth > MAX_DEPTH:
            raise Invalid(path, f"nests deeper than {MAX_DEPTH} levels")
        if value is None and not in_extension:
            raise Invalid(
                path, "is null: the LRS MUST reject Statements with any null values (except "
                "inside extensions)"
            )  # fmt: skip
        if isinstance(value, str):
            _keepable(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise Invalid(path, "is not a finite number")
        elif isinstance(value, dict):
            for key, item in value.items():
                _keepable(key, path)
                inside = in_extension or key == "extensions"
                stack.append((item, _join(path, key), depth + 1, inside))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{n}]", depth + 1, in_extension)
                         for n, item in enumerate(value))  # fmt: skip


_UNKEEPABLE = re.compile("[\x00\ud800-\udfff]")


def _keepable(text: str, path: str) -> None:
    if _UNKEEPABLE.search(text):
        raise Invalid(path, "holds U+0000 or an unpaired surrogate, which no database keeps")


def _comparable(document: Mapping[str, Any], ignored: set[str]) -> Any:
    shown = {name: value for name, value in document.items() if name not in ignored}
    shown.setdefault("version", "1.0.0")
    return _canonical(shown)


def _canonical(value: Any) -> Any:
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    canonical = {}
    for name, item in value.items():
        if name == "extensions":
            canonical[name] = item
        elif name == "timestamp" and isinstance(item, str):
            canonical[name] = _millisecond(item)
        elif name == "member" and isinstance(item, list):
            canonical[name] = sorted(
                (_canonical(member) for member in item), key=lambda m: json.dumps(m, sort_keys=True)
            )
        else:
            canonical[name] = _canonical(item)
    return canonical


def _millisecond(text: str) -> str:
    instant = datetime.fromisoformat(text.replace(",", ".")).astimezone(UTC)
    return instant.isoformat(timespec="milliseconds")


def _repeated_ids(statements: Sequence[Statement]) -> list[RecordError]:
    """Communication 2.1.1: "If the LRS receives a batch of Statements containing two or
    more Statements with the same id, it SHOULD* reject the batch and return 400"."""
    first: dict[str, int] = {}
    errors = []
    for statement in statements:
        if statement.id in first:
            reason = f"repeats the id of statement {first[statement.id]} of this request"
            errors.append(RecordError(statement.index, "id", reason))
        else:
            first[statement.id] = statement.index
    return errors


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unique_keys(pairs: list[tuple[str, Any]]) -> Json:
    found: Json = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} occurs more than once in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number JSON allows")
