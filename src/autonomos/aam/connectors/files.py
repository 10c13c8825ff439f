"""The ``files`` connector: CSV, JSON, NDJSON and Parquet files matched by a path or glob.

Each stream is a path or glob; every matching file is read through an ephemeral DuckDB
(``engines.duckdb``), one file at a time in path order.

Keys. A stream with a declared ``primary_key`` needs those fields non-empty in every row;
a row without them is a ``BadRecord`` ("missing key field(s) ..."). A stream with no declared
key has ``content_key=True``: files carry no identity of their own, so the sync engine keys
each record by a hash of its content.

Types. CSV values stay strings (read with every column VARCHAR, so ``00123`` stays
``00123``; an empty field is null); discover still reports what they look like. JSON and
NDJSON values are what ``json.loads`` gives; Parquet values keep their types, converted to
JSON-serialisable Python by ``values.to_jsonable`` (Decimal as a string, dates as ISO text).

Malformed input never stops a file: a line with a bad encoding or column count, invalid JSON,
a field over ``max_field_bytes`` or a file that cannot be parsed at all becomes a BadRecord
with its reason and raw text (cut to 64 KiB, which the reason says), and the rest still yields.

Sandbox. Built for a tenant (``self.sandbox``), the connector reads only files whose real path
lies in the tenant's files folder: the path or glob is checked, every matched file is checked,
and each is checked again right before it is read and handed to DuckDB by its real path; DuckDB
itself may read only those folders (``allowed_directories``).

State and resume. The state is ``{"files": {path: {"size", "mtime_ns", "rows_done", "done"}}}``.
A StateMessage follows every ``checkpoint_every`` rows and the end of each file, so a read
given that state starts the unfinished file at ``rows_done``. Incrementally, a file that was
done and whose size and mtime are unchanged is skipped; a changed file is read again in full
(unchanged rows land as no-ops thanks to content hashing). ``full`` mode reads every file.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autonomos.aam.connectors.base import (
    BadRecord,
    CheckResult,
    Connector,
    FieldSpec,
    Message,
    StateMessage,
    StreamSpec,
    rows_in,
)
from autonomos.aam.connectors.files_formats import ENCODINGS, SCANNERS, FileJob, duck_encoding
from autonomos.aam.connectors.files_schema import file_fields
from autonomos.aam.connectors.context import ConnectorContext, RunControl
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.sandbox import SourceRefused
from autonomos.aam.connectors.typing import SyncMode
from autonomos.engines.duckdb import ephemeral_duckdb
from autonomos.errors import ConfigurationError

EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
              ".parquet": "parquet", ".pq": "parquet"}
DISCOVER_FILES = 5
"""Discover merges the fields of at most this many files of a stream."""


@dataclass(frozen=True)
class FileStream:
    """One stream's resolved config."""

    name: str
    path: str
    format: str | None
    primary_key: tuple[str, ...]
    cursor_field: str | None
    delimiter: str | None
    encoding: str

    def files(self) -> list[str]:
        return sorted(p for p in glob.glob(os.path.expanduser(self.path), recursive=True) if os.path.isfile(p))

    def format_of(self, path: str) -> str:
        fmt = self.format or EXTENSIONS.get(Path(path).suffix.lower())
        if fmt not in SCANNERS:
            raise ConfigurationError("unknown file format; set `format` to csv, json, ndjson or parquet", path=path)
        return fmt


def _stream_name(path: str) -> str:
    """``data/accounts*.csv`` -> ``accounts``; a bare ``*`` falls back to the folder's name."""
    stem = re.sub(r"[*?\[\]{}]", "", Path(path).name.split(".")[0]).strip("_-. ")
    return stem or Path(path).parent.name or "files"


@register
class FilesConnector(Connector):
    provider = "files"
    uses_context = True

    def __init__(self, config: dict[str, Any], credentials: dict[str, Any] | None = None, *,
                 context: ConnectorContext | None = None) -> None:
        super().__init__(config, credentials, context=context)
        self.control = context.control if context is not None else RunControl()
        self.max_field_bytes = int(config.get("max_field_bytes", 1024 * 1024))
        self.checkpoint_every = max(1, int(config.get("checkpoint_every", 10_000)))
        self.streams = {s.name: s for s in self._streams()}

    @classmethod
    def spec(cls) -> dict[str, Any]:
        stream = {
            "path": {"type": "string", "description": "a file path or glob"},
            "format": {"enum": ["csv", "json", "ndjson", "parquet"], "description": "default: from the extension"},
            "primary_key": {"type": "array", "items": {"type": "string"}},
            "cursor_field": {"type": "string"},
            "delimiter": {"type": "string", "maxLength": 1},
            "encoding": {"enum": sorted(set(ENCODINGS.values())), "default": "utf-8"},
        }
        return {
            "type": "object",
            "properties": {
                **stream,
                "stream": {"type": "string", "description": "name of the single stream (default: the file stem)"},
                "streams": {"type": "object", "additionalProperties": {"type": "object", "properties": stream}},
                "max_field_bytes": {"type": "integer", "default": 1024 * 1024},
                "checkpoint_every": {"type": "integer", "default": 10_000},
            },
            "anyOf": [{"required": ["path"]}, {"required": ["streams"]}],
        }

    def _streams(self) -> list[FileStream]:
        """Streams from ``streams`` (name -> options, top-level keys as defaults) or the one ``path``."""
        entries = self.config.get("streams") or {}
        if not entries:
            if not self.config.get("path"):
                raise ConfigurationError("the files connector needs `path` or `streams`")
            entries = {self.config.get("stream") or _stream_name(self.config["path"]): {}}
        streams = []
        for name, own in entries.items():
            merged = {**self.config, **(own or {})}
            if not merged.get("path"):
                raise ConfigurationError("a files stream needs a `path`", stream=name)
            encoding = merged.get("encoding", "utf-8")
            if not duck_encoding(encoding):
                raise ConfigurationError("unsupported encoding; use utf-8, latin-1 or utf-16", stream=name)
            streams.append(FileStream(
                name=name, path=str(merged["path"]), format=merged.get("format"),
                primary_key=tuple(merged.get("primary_key") or ()), cursor_field=merged.get("cursor_field"),
                delimiter=merged.get("delimiter"), encoding=encoding,
            ))
        return streams

    def _job(self, stream: FileStream, path: str) -> FileJob:
        return FileJob(stream=stream.name, path=path, format=stream.format_of(path), primary_key=stream.primary_key,
                       delimiter=stream.delimiter, encoding=stream.encoding, max_field_bytes=self.max_field_bytes,
                       max_columns=self.control.max_columns)

    def check_sandbox(self) -> None:
        if self.sandbox is not None:
            for stream in self.streams.values():
                self.sandbox.check_pattern(stream.path)

    def _files(self, stream: FileStream) -> list[str]:
        """The stream's files; with a sandbox, every one must be the tenant's (by its real path)."""
        paths = stream.files()
        if self.sandbox is not None:
            for path in paths:
                self.sandbox.check_file(path)
        return paths

    def _open(self, path: str) -> str:
        """The path to hand DuckDB: the real path, checked again right before it is read."""
        return path if self.sandbox is None else self.sandbox.check_file(path)

    def _duckdb(self):
        roots = None if self.sandbox is None else self.sandbox.file_roots
        return ephemeral_duckdb(allow_file_access=True, allowed_directories=roots)

    def check(self) -> CheckResult:
        try:
            self.check_sandbox()
            empty = [s.path for s in self.streams.values() if not self._files(s)]
        except SourceRefused as error:
            return CheckResult(False, f"refused: {error}")
        if empty:
            return CheckResult(False, f"no files match {', '.join(empty)}")
        counts = ", ".join(f"{s.name}: {len(self._files(s))} file(s)" for s in self.streams.values())
        return CheckResult(True, counts)

    def discover(self) -> list[StreamSpec]:
        specs = []
        self.check_sandbox()
        with self._duckdb() as conn:
            for stream in self.streams.values():
                fields: dict[str, FieldSpec] = {}
                for path in self._files(stream)[:DISCOVER_FILES]:
                    for spec in file_fields(conn, self._job(stream, self._open(path))):
                        fields.setdefault(spec.name, spec)
                for key in stream.primary_key:
                    if key in fields:
                        fields[key] = FieldSpec(name=key, type=fields[key].type, nullable=False)
                specs.append(StreamSpec(
                    name=stream.name, fields=tuple(fields.values()), primary_key=stream.primary_key,
                    cursor_field=stream.cursor_field, content_key=not stream.primary_key,
                    options={"path": stream.path, "format": stream.format},
                ))
        return specs

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        source = self.streams.get(stream.name)
        if source is None:
            raise ConfigurationError("this files connection has no such stream", stream=stream.name)
        self.check_sandbox()
        prior: dict[str, dict[str, Any]] = (state or {}).get("files", {})
        paths = self._files(source)
        files = {p: dict(prior[p]) for p in paths if p in prior}
        snapshot = lambda: StateMessage(stream.name, {"files": {p: dict(e) for p, e in files.items()}})  # noqa: E731
        since, read_any = 0, False
        with self._duckdb() as conn:
            for path in paths:
                real = self._open(path)
                info = os.stat(real)
                old = files.get(path, {})
                same = old.get("size") == info.st_size and old.get("mtime_ns") == info.st_mtime_ns
                if same and old.get("done") and mode == "incremental":
                    continue
                read_any = True
                offset = int(old.get("rows_done", 0)) if same and not old.get("done") else 0
                entry = files[path] = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "rows_done": offset, "done": False}
                trailing: list[BadRecord] = []
                for batch in SCANNERS[source.format_of(path)](conn, self._job(source, real), offset, trailing):
                    self.control.check()  # between chunks of bounded size: a cancel stops here
                    for message in batch:
                        # A checkpoint every `checkpoint_every` rows; only a record batch is ever cut.
                        while message is not None:
                            rows = rows_in(message)
                            take = min(rows, self.checkpoint_every - since)
                            head, message = ((message.slice(0, take), message.slice(take, rows)) if take < rows
                                             else (message, None))
                            yield head
                            since += take
                            entry["rows_done"] += take
                            if since == self.checkpoint_every:
                                since = 0
                                yield snapshot()
                yield from trailing
                entry["done"] = True
                yield snapshot()
        if not read_any:
            yield snapshot()
