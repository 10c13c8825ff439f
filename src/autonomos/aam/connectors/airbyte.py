"""The ``airbyte`` connector: any Airbyte-protocol source published as a Python package.

The source runs in a virtual environment of its own (``<data dir>/airbyte/<package>-<version>``,
created and ``pip install``-ed with the exact version on first use, under a file lock so two
workers never install at once) as a subprocess: ``spec``, ``check``, ``discover`` and
``read --config --catalog [--state]``, one JSON message per stdout line.

* ``RECORD`` -> ``RecordMessage`` (a non-object ``data`` or a line that is not JSON -> ``BadRecord``);
* ``STATE`` (``STREAM``, ``GLOBAL`` or legacy) -> ``StateMessage({"airbyte": <state message>})``;
  the next read hands it back through ``--state``, so incremental sources resume where they were;
* ``LOG`` -> our logger at the same level; ``TRACE`` errors -> ``AirbyteSourceFailed`` (the run's
  error) once the process ends, as does a non-zero exit (with the tail of its stderr).

Config: ``package`` (``airbyte-source-faker``), ``version`` (exact), ``config`` (the source's own
config; credentials are merged over it, so secrets stay encrypted at rest), ``streams`` (default:
all). ``entrypoint`` (default: the package name without ``airbyte-``) and ``venv_root`` (default
``<data dir>/airbyte``) are for library use only: a tenant's connection (built with a sandbox)
may not set them, and its ``package==version`` must be on the operator's ``AOS_AIRBYTE_SOURCES``.

A source is arbitrary code, so it runs with a minimal environment (no ``AOS_*``, no
``DATABASE_URL``, only ``PATH``, ``HOME``, ``TMPDIR`` and ``LANG``), in a temp folder of its own,
under a CPU-time and address-space limit (``setrlimit``) and a wall-clock limit per command.
"""

from __future__ import annotations

import fcntl
import json
import logging
import resource
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autonomos.aam.connectors.base import (BadRecord, CheckResult, Connector, FieldSpec, Message, RecordMessage,
                                           StateMessage, StreamSpec)
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.sandbox import PACKAGE, VERSION, SourceRefused
from autonomos.aam.connectors.typing import FieldType, SyncMode
from autonomos.errors import AutonomosError, ConfigurationError

logger = logging.getLogger(__name__)

LEVELS = {"FATAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING, "WARNING": logging.WARNING,
          "INFO": logging.INFO, "DEBUG": logging.DEBUG, "TRACE": logging.DEBUG}


MEMORY_LIMIT_BYTES = 2 * 1024**3
CPU_LIMIT_S = 3600
WALL_LIMIT_S = 4 * 3600
"""Limits of one source command (address space, CPU seconds, wall-clock seconds)."""


def _limits() -> None:  # pragma: no cover - runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class AirbyteSourceFailed(AutonomosError):
    """Raised when the source reports a TRACE error, exits non-zero, or cannot be installed."""


def field_type(schema: dict[str, Any]) -> FieldType:
    """A JSON Schema property as a FieldType word (Airbyte's ``format`` says date/date-time)."""
    types = schema.get("type", [])
    kinds = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    kind = kinds[0] if kinds else ""
    if kind == "string":
        return {"date-time": "datetime", "date": "date"}.get(schema.get("format", ""), "string")
    return {"integer": "integer", "number": "number", "boolean": "boolean", "object": "object",
            "array": "array"}.get(kind, "unknown")


@register
class AirbyteConnector(Connector):
    provider = "airbyte"
    uses_context = True

    @classmethod
    def spec(cls) -> dict[str, Any]:
        return {"type": "object", "required": ["package", "version"], "properties": {
            "package": {"type": "string", "description": "PyPI name, e.g. airbyte-source-faker"},
            "version": {"type": "string", "description": "exact version to install"},
            "entrypoint": {"type": "string"}, "config": {"type": "object"},
            "streams": {"type": "array", "items": {"type": "string"}}, "venv_root": {"type": "string"},
            "credentials": {"type": "object", "description": "secret keys of the source's config"},
        }}

    @property
    def package(self) -> str:
        if not self.config.get("package") or not self.config.get("version"):
            raise ConfigurationError("an airbyte connection needs `package` and an exact `version`")
        package, version = str(self.config["package"]), str(self.config["version"])
        if not PACKAGE.fullmatch(package) or not VERSION.fullmatch(version):
            raise SourceRefused("`package` is a package name and `version` an exact version number",
                                package=package[:100], version=version[:50])
        return package

    def check_sandbox(self) -> None:
        package = self.package
        if self.sandbox is None:
            return
        chosen = sorted(k for k in ("venv_root", "entrypoint") if self.config.get(k))
        if chosen:
            raise SourceRefused("a tenant's Airbyte connection may not choose these settings", settings=chosen)
        self.sandbox.check_airbyte(package, str(self.config["version"]))

    def venv(self) -> Path:
        """The source's virtual environment, created and installed on first use."""
        self.check_sandbox()
        root = self.config.get("venv_root") or (self.context.data_dir / "airbyte" if self.context else None)
        if root is None:
            raise ConfigurationError("set `venv_root`, or build the connector with a context (data dir)")
        path = Path(root).expanduser() / f"{self.package}-{self.config['version']}"
        marker = path / ".aos-installed"
        if marker.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not marker.exists():
                self._install(path)
                marker.write_text(f"{self.package}=={self.config['version']}\n")
        return path

    def _install(self, path: Path) -> None:
        logger.info("installing %s==%s into %s", self.package, self.config["version"], path)
        for step in ([sys.executable, "-m", "venv", "--clear", str(path)],
                     [str(path / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                      f"{self.package}=={self.config['version']}"]):
            done = subprocess.run(step, capture_output=True, text=True, env={**_minimal_env(path.parent), **_pip_settings()},
                                  timeout=WALL_LIMIT_S)
            if done.returncode != 0:
                raise AirbyteSourceFailed("could not install the source", package=self.package,
                                          step=step[2] if len(step) > 2 else step[0], stderr=done.stderr[-2000:])

    def _command(self) -> Path:
        name = self.config.get("entrypoint") or self.package.removeprefix("airbyte-")
        return self.venv() / "bin" / name

    def _run(self, command: str, files: dict[str, Any]) -> Iterator[dict[str, Any] | str]:
        """Run one protocol command; yields parsed messages (or the raw line when it is not JSON)."""
        with tempfile.TemporaryDirectory(prefix="aos-airbyte-") as tmp:
            args = [str(self._command()), command]
            for name, content in files.items():
                file = Path(tmp) / f"{name}.json"
                file.touch(mode=0o600)
                file.write_text(json.dumps(content))
                args += [f"--{name}", str(file)]
            with open(Path(tmp) / "stderr", "w+") as stderr:
                process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp,
                                           env=_minimal_env(Path(tmp)), preexec_fn=_limits)
                timer = threading.Timer(WALL_LIMIT_S, process.kill)
                timer.daemon = True
                timer.start()
                assert process.stdout is not None
                try:
                    errors = []
                    for line in process.stdout:
                        line = line.strip()
                        if not line:
                            continue
                        try:
                            message = json.loads(line)
                        except (ValueError, RecursionError):  # too deep to parse is no message either
                            yield line
                            continue
                        if not isinstance(message, dict):  # 42, null, [..]: JSON, but not a message
                            yield line
                            continue
                        if message.get("type") == "LOG":
                            log = message.get("log", {})
                            logger.log(LEVELS.get(log.get("level", "INFO"), logging.INFO), "%s: %s",
                                       self.package, log.get("message", ""))
                        elif message.get("type") == "TRACE" and message.get("trace", {}).get("type") == "ERROR":
                            errors.append(message["trace"].get("error", {}))
                        else:
                            yield message
                    code = process.wait()
                finally:
                    timer.cancel()
                    if process.poll() is None:
                        process.kill()
                        process.wait()
                if errors:
                    first = errors[0]
                    raise AirbyteSourceFailed(f"source error: {first.get('message', 'unknown')}", package=self.package,
                                              failure_type=first.get("failure_type"), errors=len(errors))
                if code != 0:
                    stderr.seek(0)
                    raise AirbyteSourceFailed(f"`{command}` exited with {code}", package=self.package,
                                              stderr=stderr.read()[-2000:])

    def source_config(self) -> dict[str, Any]:
        return {**(self.config.get("config") or {}), **self.credentials}

    def source_spec(self) -> dict[str, Any]:
        """The source's own connection specification (its ``spec`` command)."""
        for message in self._run("spec", {}):
            if isinstance(message, dict) and message.get("type") == "SPEC":
                return message["spec"]
        raise AirbyteSourceFailed("the source printed no SPEC", package=self.package)

    def check(self) -> CheckResult:
        try:
            for message in self._run("check", {"config": self.source_config()}):
                if isinstance(message, dict) and message.get("type") == "CONNECTION_STATUS":
                    status = message["connectionStatus"]
                    return CheckResult(status.get("status") == "SUCCEEDED", status.get("message") or status["status"])
        except AutonomosError as error:
            return CheckResult(False, str(error))
        return CheckResult(False, "the source printed no CONNECTION_STATUS")

    def catalog(self) -> list[dict[str, Any]]:
        for message in self._run("discover", {"config": self.source_config()}):
            if isinstance(message, dict) and message.get("type") == "CATALOG":
                wanted = self.config.get("streams")
                return [s for s in message["catalog"]["streams"] if not wanted or s["name"] in wanted]
        raise AirbyteSourceFailed("the source printed no CATALOG", package=self.package)

    def discover(self) -> list[StreamSpec]:
        specs = []
        for stream in self.catalog():
            properties = stream.get("json_schema", {}).get("properties", {})
            key = tuple(path[0] for path in stream.get("source_defined_primary_key") or [] if path)
            cursor = (stream.get("default_cursor_field") or [None])[0]
            specs.append(StreamSpec(
                name=stream["name"], primary_key=key, cursor_field=cursor, content_key=not key,
                fields=tuple(FieldSpec(name, field_type(schema), description=schema.get("description"))
                             for name, schema in properties.items()),
                options={"airbyte_stream": stream},
            ))
        return specs

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        source = stream.options["airbyte_stream"]
        incremental = mode == "incremental" and "incremental" in source.get("supported_sync_modes", [])
        configured = {"streams": [{
            "stream": source, "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append" if incremental else "overwrite",
            "cursor_field": [stream.cursor_field] if stream.cursor_field else [],
            "primary_key": [[k] for k in stream.primary_key],
        }]}
        files: dict[str, Any] = {"config": self.source_config(), "catalog": configured}
        saved = (state or {}).get("airbyte") if incremental else None
        if saved is not None:
            files["state"] = saved["data"] if saved.get("type") == "LEGACY" else [saved]
        for message in self._run("read", files):
            if isinstance(message, str):
                yield BadRecord(stream.name, "source printed a line that is not an Airbyte message", raw=message[:65536])
            elif message.get("type") == "RECORD":
                record = message.get("record")
                if not isinstance(record, dict):
                    yield BadRecord(stream.name, "RECORD message without a record object", raw=json.dumps(message)[:65536])
                    continue
                if record.get("stream") != stream.name:
                    continue
                data = record.get("data")
                if isinstance(data, dict):
                    yield RecordMessage(stream.name, data)
                else:
                    yield BadRecord(stream.name, "RECORD data is not a JSON object", raw=json.dumps(data)[:65536])
            elif message.get("type") == "STATE":
                if not isinstance(message.get("state"), dict):  # kept out: the next sync reads again, losing nothing
                    yield BadRecord(stream.name, "STATE message without a state object", raw=json.dumps(message)[:65536])
                    continue
                yield StateMessage(stream.name, {"airbyte": _state_for(message["state"])})


def _minimal_env(home: Path) -> dict[str, str]:
    """What a source process sees of the environment: nothing of the platform's settings."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8"}


def _pip_settings() -> dict[str, str]:
    """The operator's pip settings (index, proxy), which installing a pinned source needs."""
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("PIP_")}


def _state_for(state: dict[str, Any]) -> dict[str, Any]:
    """The state message to hand back, without per-run statistics; legacy ``data`` is kept as is."""
    kept = {k: v for k, v in state.items() if k not in ("sourceStats", "destinationStats")}
    if "type" not in kept:
        kept["type"] = "LEGACY"
    return kept
