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
        description="Requests one process works on at once; more wait their turn. Run more "
        "processes (`serve --workers`) to use more cores.",
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
