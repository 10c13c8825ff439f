"""DuckDB: ephemeral compute only.

Every job gets its own in-memory database with a memory limit and a temp directory of
its own that is removed when the job ends, so no DuckDB file ever outlives a job.
External file and network access is off unless the job reads source files.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb


@contextmanager
def ephemeral_duckdb(
    memory_limit: str = "1GB", *, allow_file_access: bool = False, threads: int | None = None,
    allowed_directories: Sequence[str | Path] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open an in-memory DuckDB for one job and remove everything it spilled afterwards.

    ``allow_file_access`` is for connectors that read local files; transforms and
    profiling run with it off so a mapping cannot read or fetch anything. With
    ``allowed_directories`` only those folders (and the job's temp dir) can be read, even when
    ``allow_file_access`` is set: a second wall behind the connector sandbox's own checks.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="aos-duckdb-"))
    config: dict[str, str | int | bool] = {
        "memory_limit": memory_limit,
        "temp_directory": str(temp_dir),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads:
        config["threads"] = threads
    conn = duckdb.connect(":memory:", config=config)
    try:
        # Timestamps without an offset mean UTC, whatever the machine's zone (transforms rely on it).
        conn.execute("SET TimeZone = 'UTC'")
        if allowed_directories is not None:
            folders = [str(temp_dir), *(str(d) for d in allowed_directories)]
            conn.execute("SET allowed_directories = $1", [[f.rstrip("/") + "/" for f in folders]])
        if not allow_file_access or allowed_directories is not None:
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
        yield conn
    finally:
        conn.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def top_values(conn: duckdb.DuckDBPyConnection, table: str, limit: int) -> dict[str, list[tuple[str, int]]]:
    """The ``limit`` most frequent values of each path in a long table ``(path, val, n)`` of
    counted values (profilers build one), most frequent first, ties by value."""
    top: dict[str, list[tuple[str, int]]] = {}
    for path, val, n in conn.execute(f"""
            SELECT path, val, n FROM (
                SELECT path, val, sum(n) AS n,
                       row_number() OVER (PARTITION BY path ORDER BY sum(n) DESC, val) AS rank
                FROM {table} GROUP BY path, val)
            WHERE rank <= {int(limit)} ORDER BY path, rank""").fetchall():
        top.setdefault(path, []).append((val, int(n)))
    return top
