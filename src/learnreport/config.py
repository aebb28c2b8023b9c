"""Settings read from the environment and an optional `.env` file.

Every setting has a default that runs the demo on an embedded SQLite file, so a new user
needs no configuration; production sets `DATABASE_URL` to PostgreSQL.
"""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEARNREPORT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite:///learnreport.db",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB.",
    )
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per process.")
    threads: int = Field(
        default=2,
        ge=1,
        description="Requests one process works on at once in threads; more wait their turn. "
        "On SQLite, pages whose queries take under 2 ms are answered on the event loop beside "
        "them. Run more processes (`serve --workers`) to use more cores.",
    )
    ingest_batch_size: int = Field(
        default=10_000, ge=1, description="Records per all-or-nothing ingest batch."
    )
    batch_max_records: int = Field(
        default=10_000, ge=1, description="Records one HTTP write batch may hold (else 413)."
    )
    batch_max_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Bytes one HTTP write batch may take (else 413, before it is parsed).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Bytes the body of any request but a write batch may take (else 413, "
        "before it is parsed).",
    )
    max_json_depth: int = Field(
        default=32,
        ge=2,
        description="Levels a JSON body's arrays and objects may nest, write batches apart "
        "(else 400, before it is parsed).",
    )
    max_url_bytes: int = Field(
        default=8192,
        ge=256,
        description="Bytes of a request's path and query string (else 414).",
    )
    max_query_parameters: int = Field(
        default=200,
        ge=1,
        description="Parameters one query string may hold, repeated ones counted each time "
        "(else 400).",
    )
    statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="Milliseconds one database statement of a request may run before it is "
        "stopped and the request answered 503 with Retry-After (0: no limit). Exports are "
        "exempt: they stream for as long as their client reads.",
    )
    lock_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="Milliseconds a statement waits for a lock held by another writer "
        "(SQLite's busy timeout, PostgreSQL's lock_timeout) before the request is answered "
        "503 with Retry-After.",
    )
    token_issuer: str = Field(
        default="learnreport", min_length=1, description="The `iss` of every access token."
    )
    token_audience: str = Field(
        default="learnreport-api",
        min_length=1,
        description="The `aud` of every access token; tokens for another audience are refused.",
    )
    token_ttl: int = Field(
        default=3600,
        ge=60,
        le=3600,
        description="Seconds an access token lives; at most an hour, which bounds the use of "
        "a leaked token.",
    )
    token_failures_per_client: int = Field(
        default=10,
        ge=1,
        description="Failed authentications of one client id at the token URLs allowed per "
        "`token_failures_period`, from any address; beyond them, 429 until one is due again.",
    )
    token_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="Failed client authentications from one address allowed per "
        "`token_failures_period`, whichever client ids they name.",
    )
    token_failures_period: float = Field(
        default=60.0, gt=0, description="Seconds over which failed authentications are counted."
    )
    rate_limit: int = Field(
        default=0,
        ge=0,
        description="Requests one credential may make per `rate_limit_period` in one process "
        "(0: no limit). With a limit, every authenticated answer carries the RateLimit-Limit, "
        "RateLimit-Remaining and RateLimit-Reset headers, and a request beyond it is a 429 "
        "with Retry-After.",
    )
    rate_limit_period: float = Field(
        default=60.0, gt=0, description="Seconds over which `rate_limit` requests are allowed."
    )
    audit_log: str = Field(
        default="-",
        min_length=1,
        description="Where the audit log's JSON lines go: `-` for standard error, a file "
        "path, or `off` for nowhere but the `learnreport.audit` logger.",
    )
