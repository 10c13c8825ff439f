"""The connector interface every source implements, and the messages ``read`` yields.

A connector is built from a connection's config and decrypted credentials and offers:

* ``spec()``: the JSON Schema of its config (a class method, no connection needed);
* ``check()``: can it connect with this config and these credentials;
* ``discover()``: the streams it can read, with fields, types, nested paths, primary key
  and cursor field;
* ``read(stream, state, mode)``: records and checkpoints. A ``StateMessage`` means every
  record yielded before it is complete; the sync engine commits that state with the batch
  that contains those records, so a crash resumes right after the last checkpoint.

A connector that reads columnar data (files through DuckDB) may yield a ``RecordBatch``
instead of one ``RecordMessage`` per row: the same records, already serialised in bulk as
canonical JSON text with their keys, so no Python object is built per row.

A record the connector cannot parse is yielded as ``BadRecord`` with its reason and what was
read; it goes to quarantine and the sync goes on. Connectors never raise for one bad record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from autonomos.aam.connectors.context import ConnectorContext
from autonomos.aam.connectors.sandbox import Sandbox
from autonomos.aam.connectors.typing import FieldType, SyncMode


@dataclass(frozen=True)
class FieldSpec:
    """One field of a stream; ``path`` names nested fields (``("address", "city")``)."""

    name: str
    type: FieldType = "unknown"
    nullable: bool = True
    path: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class StreamSpec:
    """A table, object or endpoint a connection reads."""

    name: str
    fields: tuple[FieldSpec, ...] = ()
    primary_key: tuple[str, ...] = ()
    cursor_field: str | None = None
    soft_delete_field: str | None = None
    """A boolean field the source sets on deleted records (e.g. ``IsDeleted``)."""
    content_key: bool = False
    """No key in the source: the record key is a hash of the record's content (files)."""
    options: dict[str, Any] = field(default_factory=dict)

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass(frozen=True)
class RecordMessage:
    stream: str
    data: dict[str, Any]
    deleted: bool = False
    """The source says this record is deleted (tombstone or soft-delete flag)."""


@dataclass(frozen=True)
class RecordBatch:
    """Consecutive records of one stream, serialised in bulk (see the module docstring).

    ``payloads[i]`` is the record's JSON object text and must equal ``canonical_json`` of the
    same record except for the case of hex digits in ``\\u00XX`` escapes (the lander
    re-serialises those few records, so hashes never depend on which path a record took).
    ``keys[i]`` is what ``record_key`` would give (composite keys as a JSON array of
    strings); ``keys`` is None when the stream is keyed by content.
    """

    stream: str
    payloads: Sequence[str]
    keys: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.payloads)

    def slice(self, start: int, stop: int) -> RecordBatch:
        keys = None if self.keys is None else self.keys[start:stop]
        return RecordBatch(self.stream, self.payloads[start:stop], keys)


@dataclass(frozen=True)
class BadRecord:
    stream: str
    reason: str
    raw: bytes | str | None = None
    payload: dict[str, Any] | None = None
    record_key: str | None = None


@dataclass(frozen=True)
class StateMessage:
    stream: str
    state: dict[str, Any]


Message = RecordMessage | RecordBatch | BadRecord | StateMessage


def rows_in(message: Message) -> int:
    """Source rows a message stands for (a batch many, a record or bad record one, a state none)."""
    if isinstance(message, RecordBatch):
        return len(message)
    return 0 if isinstance(message, StateMessage) else 1


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


class Connector(ABC):
    """Base of every connector; subclasses register with ``registry.register``."""

    provider: ClassVar[str]
    uses_context: ClassVar[bool] = False
    """True: the connector is built with a ``ConnectorContext`` (token cache, rate limits, ...)."""
    sandbox: Sandbox | None = None
    """What the connection's tenant may reach; the platform always sets it (``registry.build_connector``).
    None only when a connector is built directly as a library, outside any tenant."""

    def __init__(self, config: dict[str, Any], credentials: dict[str, Any] | None = None, *,
                 context: ConnectorContext | None = None) -> None:
        self.config = config
        self.credentials = credentials or {}
        self.context = context

    @classmethod
    @abstractmethod
    def spec(cls) -> dict[str, Any]:
        """JSON Schema of this connector's config (credentials are described under ``credentials``)."""

    @abstractmethod
    def check(self) -> CheckResult:
        """Try to connect; never raises for an unreachable source, says why instead."""

    @abstractmethod
    def discover(self) -> list[StreamSpec]:
        """The streams this connection can read."""

    @abstractmethod
    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        """Yield records, bad records and checkpoints of one stream, resuming from ``state``."""

    def check_sandbox(self) -> None:
        """Raise ``SourceRefused`` when the config points outside ``self.sandbox`` (at connection create;
        connectors check again where they open anything)."""

    def close(self) -> None:
        """Release connections or files; called once the sync of all streams ends."""
