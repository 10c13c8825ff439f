"""The ``postgres`` and ``mysql`` (MySQL/MariaDB) connectors, through SQLAlchemy and the drivers.

Data moves through the drivers (psycopg 3, PyMySQL); DuckDB's database scanners would download
extensions at run time. Each table is a stream; values become JSON-serialisable Python as
``values.to_jsonable`` says (Decimal as text, timestamps as ISO text, bytes as base64, UUID as text).

Incremental reads page by keyset over ``(cursor, primary key)``, ``page_size`` rows a page, and
checkpoint ``{"cursor": ..., "pk": [...]}`` (ISO text for timestamps) after every page, so rows
sharing one cursor value across a page boundary are neither lost nor repeated. The next sync
starts strictly after that position; with ``lookback_seconds`` > 0 it starts instead at
``cursor - lookback`` inclusive, so rows committed late with an earlier or equal cursor value
are read again (re-reading is harmless: the landing dedupes by content hash). Rows whose cursor
is NULL are read only by a full read. ``full`` mode, and tables without a cursor, read every row
by primary-key keyset (resumable through ``{"full_pk": [...]}``) and end with the cursor position
for the next incremental read. A table without a primary key is read in one streamed pass.

Soft deletes: with ``soft_delete_field`` set, a row where it is true yields
``RecordMessage(deleted=True)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from autonomos.aam.connectors.base import CheckResult, Connector, FieldSpec, Message, RecordMessage, StateMessage, StreamSpec
from autonomos.aam.connectors.registry import register
from autonomos.aam.connectors.sql_dates import register_lenient_dates
from autonomos.aam.connectors.sql_guard import connect_target, refuse_superuser
from autonomos.aam.connectors.sql_catalog import after, converter, field_type, from_state, guess_cursor, truthy
from autonomos.aam.connectors.typing import SyncMode
from autonomos.aam.connectors.values import row_builder, to_jsonable
from autonomos.errors import ConfigurationError

TABLE_OPTIONS = ("primary_key", "cursor_field", "soft_delete_field")


class SqlConnector(Connector):
    """Shared by the PostgreSQL and MySQL providers; they differ in driver and default schema."""

    driver: str = ""
    default_port: int = 0

    def __init__(self, config: dict[str, Any], credentials: dict[str, Any] | None = None) -> None:
        super().__init__(config, credentials)
        self.page_size = max(1, int(config.get("page_size", 10_000)))
        self.lookback = timedelta(seconds=float(config.get("lookback_seconds", 0)))
        self.url = self._url()
        self.schema = config.get("schema") or self._default_schema()
        self._engine: sa.Engine | None = None
        self._tables: dict[str, sa.Table] = {}

    @classmethod
    def spec(cls) -> dict[str, Any]:
        overrides = {"type": "object", "properties": {
            "primary_key": {"type": "array", "items": {"type": "string"}},
            "cursor_field": {"type": "string"},
            "soft_delete_field": {"type": "string"},
        }}
        return {
            "type": "object",
            "properties": {
                "url": {"type": "string", "description": "SQLAlchemy-style URL without the password"},
                "password": {"type": "string", "secret": True, "description": "never here: in credentials"},
                "host": {"type": "string"}, "port": {"type": "integer", "default": cls.default_port},
                "database": {"type": "string"}, "user": {"type": "string"},
                "schema": {"type": "string"},
                "tables": {"oneOf": [{"type": "array", "items": {"type": "string"}},
                                     {"type": "object", "additionalProperties": overrides}],
                           "description": "table names, or names -> overrides; default: every table of the schema"},
                "page_size": {"type": "integer", "default": 10_000},
                "lookback_seconds": {"type": "number", "default": 0},
                "credentials": {"type": "object", "properties": {"password": {"type": "string"}}},
            },
            "anyOf": [{"required": ["url"]}, {"required": ["host", "database"]}],
        }

    def _url(self) -> sa.URL:
        password = self.credentials.get("password")
        if self.config.get("url"):
            url = sa.make_url(self.config["url"]).set(drivername=self.driver)
            return url.set(password=password) if password else url
        if not self.config.get("host") or not self.config.get("database"):
            raise ConfigurationError("a SQL connection needs `url`, or `host` and `database`", provider=self.provider)
        return sa.URL.create(self.driver, username=self.config.get("user"), password=password,
                             host=self.config["host"], port=int(self.config.get("port") or self.default_port),
                             database=self.config["database"])

    def _default_schema(self) -> str | None:
        return None

    def check_sandbox(self) -> None:
        connect_target(self.url, self.sandbox)

    @property
    def engine(self) -> sa.Engine:
        """The engine, connected to the address the sandbox checked; refuses a superuser login."""
        if self._engine is None:
            url, connect_args = connect_target(self.url, self.sandbox)
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=1, connect_args=connect_args)
            if self.provider == "postgres":
                sa.event.listen(engine, "connect", register_lenient_dates)
            try:
                with engine.connect() as conn:
                    refuse_superuser(conn, self.provider)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def check(self) -> CheckResult:
        try:
            self.check_sandbox()
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
                count = len(self._table_names(sa.inspect(conn)))
        except sa.exc.SQLAlchemyError as error:
            return CheckResult(False, f"cannot connect: {str(error.orig or error).splitlines()[0]}")
        except ConfigurationError as error:
            return CheckResult(False, f"refused: {error}")
        return CheckResult(True, f"connected; {count} table(s) in schema {self.schema or 'default'}")

    def _overrides(self, table: str) -> dict[str, Any]:
        tables = self.config.get("tables")
        return dict((tables.get(table) or {}) if isinstance(tables, dict) else {})

    def _table_names(self, inspector: sa.Inspector) -> list[str]:
        configured = self.config.get("tables")
        return list(configured) if configured else sorted(inspector.get_table_names(schema=self.schema))

    def discover(self) -> list[StreamSpec]:
        inspector = sa.inspect(self.engine)
        specs = []
        for name in self._table_names(inspector):
            columns = inspector.get_columns(name, schema=self.schema)
            overrides = self._overrides(name)
            primary_key = tuple(overrides.get("primary_key")
                                or inspector.get_pk_constraint(name, schema=self.schema).get("constrained_columns") or ())
            fields = tuple(
                FieldSpec(name=c["name"], type=field_type(c["type"]), nullable=bool(c.get("nullable", True)),
                          description=c.get("comment"))
                for c in columns
            )
            specs.append(StreamSpec(
                name=name, fields=fields, primary_key=primary_key,
                cursor_field=overrides.get("cursor_field") or guess_cursor(columns),
                soft_delete_field=overrides.get("soft_delete_field"),
                content_key=not primary_key, options={"schema": self.schema},
            ))
        return specs

    def _table(self, name: str) -> sa.Table:
        if name not in self._tables:
            self._tables[name] = sa.Table(name, sa.MetaData(), schema=self.schema, autoload_with=self.engine)
        return self._tables[name]

    def read(self, stream: StreamSpec, state: dict[str, Any] | None, mode: SyncMode = "incremental") -> Iterator[Message]:
        table = self._table(stream.name)
        overrides = self._overrides(stream.name)
        pk = list(stream.primary_key or overrides.get("primary_key") or [c.name for c in table.primary_key.columns])
        cursor = stream.cursor_field or overrides.get("cursor_field")
        soft = stream.soft_delete_field or overrides.get("soft_delete_field")
        for name in [*pk, *([cursor] if cursor else []), *([soft] if soft else [])]:
            if name not in table.c:
                raise ConfigurationError("configured column does not exist", table=stream.name, column=name)
        reader = _TableRead(self, stream.name, table, pk, cursor, soft)
        state = state or {}
        if not pk:
            yield from reader.unkeyed(state if mode == "incremental" else {})
        elif mode == "incremental" and cursor and "full_pk" not in state:
            yield from reader.incremental(state)
        else:
            yield from reader.full(state if "full_pk" in state else {})


class _TableRead:
    """One read of one table: builds rows, pages by keyset, tracks the cursor position."""

    def __init__(self, connector: SqlConnector, stream: str, table: sa.Table, pk: list[str],
                 cursor: str | None, soft: str | None) -> None:
        self.connector, self.stream, self.table = connector, stream, table
        self.names = [c.name for c in table.columns]
        self.build = row_builder(self.names, {i: conv for i, c in enumerate(table.columns) if (conv := converter(c.type))})
        self.pk_index = [self.names.index(k) for k in pk]
        self.cursor_index = self.names.index(cursor) if cursor else None
        self.soft_index = self.names.index(soft) if soft else None
        self.pk_cols = [table.c[k] for k in pk]
        self.cursor_col = table.c[cursor] if cursor else None

    def _messages(self, rows: Sequence[sa.Row[Any]]) -> Iterator[Message]:
        build, soft, stream = self.build, self.soft_index, self.stream
        if soft is None:
            for row in rows:
                yield RecordMessage(stream, build(row))
        else:
            for row in rows:
                yield RecordMessage(stream, build(row), deleted=truthy(row[soft]))

    def _position(self, row: sa.Row[Any] | None, state: dict[str, Any]) -> dict[str, Any]:
        """The incremental position after ``row`` (or the one in ``state`` when there is no row)."""
        if row is None or self.cursor_index is None:
            return {k: state[k] for k in ("cursor", "pk") if k in state}
        return {"cursor": to_jsonable(row[self.cursor_index]), "pk": [to_jsonable(row[i]) for i in self.pk_index]}

    def _state_values(self, state: dict[str, Any], key: str) -> list[Any]:
        return [from_state(v, c.type) for v, c in zip(state[key], self.pk_cols)]

    def _pages(self, order: list[sa.ColumnElement[Any]], first: sa.ColumnElement[bool] | None,
               key_index: list[int]) -> Iterator[Sequence[sa.Row[Any]]]:
        """Pages ordered by ``order``; each page starts strictly after the last row of the one before."""
        condition = first
        with self.connector.engine.connect() as conn:
            while True:
                query = sa.select(self.table).order_by(*order).limit(self.connector.page_size)
                if condition is not None:
                    query = query.where(condition)
                rows = conn.execute(query).fetchall()
                if not rows:
                    return
                yield rows
                if len(rows) < self.connector.page_size:
                    return
                condition = after(order, [rows[-1][i] for i in key_index])

    def incremental(self, state: dict[str, Any]) -> Iterator[Message]:
        assert self.cursor_col is not None and self.cursor_index is not None
        order = [self.cursor_col, *self.pk_cols]
        first: sa.ColumnElement[bool] = self.cursor_col.is_not(None)
        if state.get("cursor") is not None:
            value = from_state(state["cursor"], self.cursor_col.type)
            if self.connector.lookback:
                start = value - self.connector.lookback if isinstance(value, datetime) else value
                first = self.cursor_col >= start
            else:
                first = after(order, [value, *self._state_values(state, "pk")])
        position = self._position(None, state)
        for rows in self._pages(order, first, [self.cursor_index, *self.pk_index]):
            yield from self._messages(rows)
            position = self._position(rows[-1], state)
            yield StateMessage(self.stream, position)
        yield StateMessage(self.stream, position)

    def full(self, state: dict[str, Any]) -> Iterator[Message]:
        """Every row by primary-key keyset; ends at the highest (cursor, pk) seen, for the next incremental."""
        first = after(self.pk_cols, self._state_values(state, "full_pk")) if state.get("full_pk") else None
        best = self._position(None, state)
        best_key: tuple[Any, ...] | None = None
        if best.get("cursor") is not None and self.cursor_col is not None:
            best_key = (from_state(best["cursor"], self.cursor_col.type), *self._state_values(best, "pk"))
        for rows in self._pages(self.pk_cols, first, self.pk_index):
            yield from self._messages(rows)
            if self.cursor_index is not None:
                ci, keys = self.cursor_index, self.pk_index
                candidates = [r for r in rows if r[ci] is not None]
                top = max(candidates, key=lambda r: (r[ci], *(r[i] for i in keys)), default=None)
                if top is not None and (best_key is None or (top[ci], *(top[i] for i in keys)) > best_key):
                    best_key = (top[ci], *(top[i] for i in keys))
                    best = self._position(top, state)
            yield StateMessage(self.stream, {**best, "full_pk": [to_jsonable(rows[-1][i]) for i in self.pk_index]})
        yield StateMessage(self.stream, best)

    def unkeyed(self, state: dict[str, Any]) -> Iterator[Message]:
        """No primary key, so no keyset: one streamed pass (after the cursor when there is one)."""
        query = sa.select(self.table)
        top = None
        if self.cursor_col is not None:
            query = query.order_by(self.cursor_col)
            if state.get("cursor") is not None:
                value = from_state(state["cursor"], self.cursor_col.type)
                if self.connector.lookback:
                    start = value - self.connector.lookback if isinstance(value, datetime) else value
                    query = query.where(self.cursor_col >= start)
                else:
                    query = query.where(self.cursor_col > value)
        with self.connector.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=self.connector.page_size).execute(query)
            for rows in result.partitions():
                yield from self._messages(rows)
                if self.cursor_index is not None:  # ascending, so the last non-NULL value is the highest
                    ci = self.cursor_index
                    top = next((r[ci] for r in reversed(rows) if r[ci] is not None), top)
        position = {"cursor": to_jsonable(top)} if top is not None else {k: state[k] for k in ("cursor",) if k in state}
        yield StateMessage(self.stream, position)


@register
class PostgresConnector(SqlConnector):
    provider = "postgres"
    driver = "postgresql+psycopg"
    default_port = 5432

    def _default_schema(self) -> str | None:
        return "public"


@register
class MySqlConnector(SqlConnector):
    provider = "mysql"
    driver = "mysql+pymysql"
    default_port = 3306

    def _url(self) -> sa.URL:
        url = super()._url()
        return url if "charset" in url.query else url.update_query_dict({"charset": "utf8mb4"})

    def _default_schema(self) -> str | None:
        return self.url.database
