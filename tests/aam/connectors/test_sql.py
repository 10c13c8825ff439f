"""The SQL connectors against a real PostgreSQL and the machine's MariaDB: discover, keyset pages
over equal cursor values, look-back, soft deletes, full reads and value conversion."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from autonomos.aam.connectors import RecordMessage, StateMessage, connector_class
from autonomos.engines.postgres import drop_database
from tests.conftest import fresh_database

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/"

DDL = {
    "postgres": [
        "CREATE TABLE accounts (id varchar(10) PRIMARY KEY, name text NOT NULL, amount numeric(12,2), ratio double precision,"
        " active boolean, opened date, updated_at timestamp(6), is_deleted boolean DEFAULT false, extra jsonb, uid uuid, raw bytea)",
        "CREATE TABLE events (id integer PRIMARY KEY, modified_at timestamptz, note text)",
    ],
    "mysql": [
        "CREATE TABLE accounts (id varchar(10) PRIMARY KEY, name text NOT NULL, amount decimal(12,2), ratio double,"
        " active boolean, opened date, updated_at datetime(6), is_deleted boolean DEFAULT false, extra json, uid char(36), raw blob)",
        "CREATE TABLE events (id integer PRIMARY KEY, modified_at datetime(6), note text)",
    ],
}


READER = {
    "postgres": ["CREATE ROLE {login} LOGIN PASSWORD 'pw-{login}'", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {login}",
                 "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {login}"],
    "mysql": ["CREATE USER '{login}'@'%' IDENTIFIED BY 'pw-{login}'", "GRANT SELECT ON {db}.* TO '{login}'@'%'"],
}
"""A login per test that can read the source's tables and nothing more."""
DROP_READER = {"postgres": ["DROP OWNED BY {login}", "DROP ROLE {login}"], "mysql": ["DROP USER '{login}'@'%'"]}


@pytest.fixture(params=["postgres", "mysql"])
def source(request, source_server_url) -> Iterator[tuple[str, dict, sa.Engine]]:
    """A database of this test's own on the provider's source server, with the two tables created, and
    the connection's config naming a login that may only read it (superuser logins are refused)."""
    provider = request.param
    server_url = source_server_url
    if provider == "postgres":
        url = fresh_database(server_url, "aos_src")
        name = sa.make_url(url).database
        config = {"url": url}
    else:
        admin = sa.create_engine(MARIADB)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as error:
            pytest.skip(f"MariaDB is not reachable on 127.0.0.1:3306 as root: {error.orig}")
        name = f"aos_src_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        config = {"url": MARIADB + name}
    engine = sa.create_engine(sa.make_url(config["url"]).set(
        drivername="postgresql+psycopg" if provider == "postgres" else "mysql+pymysql"))
    with engine.begin() as conn:
        for statement in DDL[provider]:
            conn.execute(sa.text(statement))
    login = f"reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        for statement in READER[provider]:
            conn.execute(sa.text(statement.format(login=login, db=name)))
    reader = sa.make_url(config["url"]).set(username=login, password=f"pw-{login}")
    config = {"url": reader.render_as_string(hide_password=False)}
    yield provider, config, engine
    with engine.begin() as conn:
        for statement in DROP_READER[provider]:
            conn.execute(sa.text(statement.format(login=login)))
    engine.dispose()
    if provider == "postgres":
        drop_database(server_url, name)
    else:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        admin.dispose()


def read(provider: str, config: dict, table: str, state: dict | None = None, mode: str = "incremental"):
    connector = connector_class(provider)(config)
    try:
        spec = next(s for s in connector.discover() if s.name == table)
        messages = list(connector.read(spec, state, mode))
    finally:
        connector.close()
    return [m for m in messages if isinstance(m, RecordMessage)], [m.state for m in messages if isinstance(m, StateMessage)]


def insert_events(engine: sa.Engine, rows: list[tuple[int, str | None]]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO events (id, modified_at, note) VALUES (:id, :at, 'n')"),
                     [{"id": i, "at": at} for i, at in rows])


def test_discover_types_keys_and_guessed_cursor(source):
    provider, config, _ = source
    specs = {s.name: s for s in connector_class(provider)(config).discover()}
    accounts = specs["accounts"]
    assert accounts.primary_key == ("id",) and accounts.cursor_field == "updated_at" and not accounts.content_key
    types = {f.name: f.type for f in accounts.fields}
    assert types == {"id": "string", "name": "string", "amount": "number", "ratio": "number", "active": "boolean",
                     "opened": "date", "updated_at": "datetime", "is_deleted": "boolean",
                     "extra": "object" if provider == "postgres" else types["extra"], "uid": "string", "raw": "string"}
    assert not next(f for f in accounts.fields if f.name == "name").nullable
    assert specs["events"].primary_key == ("id",) and specs["events"].cursor_field == "modified_at"
    assert connector_class(provider)(config).check().ok


def test_values_are_json_serialisable_and_soft_deletes_are_flagged(source):
    provider, config, engine = source
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO accounts VALUES ('00123', 'Acme', 12.50, 0.5, true, '2024-05-01', '2024-05-01 10:00:00.123456',"
            " false, '{\"tier\": 1}', '6f1c1b7e-8e0a-4b8e-9d57-2f2b1c0d9e01', :raw),"
            " ('00124', 'Gone', NULL, NULL, NULL, NULL, '2024-05-02 10:00:00', true, NULL, NULL, NULL)"), {"raw": b"\x00\xff"})
    config = {**config, "tables": {"accounts": {"soft_delete_field": "is_deleted"}}}
    records, states = read(provider, config, "accounts")
    first = records[0].data
    json.dumps([r.data for r in records])
    assert (first["id"], first["amount"], first["opened"], first["raw"]) == ("00123", "12.50", "2024-05-01", "AP8=")
    assert first["updated_at"] == "2024-05-01T10:00:00.123456" and first["uid"] == "6f1c1b7e-8e0a-4b8e-9d57-2f2b1c0d9e01"
    assert [r.deleted for r in records] == [False, True]
    assert states[-1] == {"cursor": "2024-05-02T10:00:00", "pk": ["00124"]}


def test_keyset_pages_over_equal_cursor_values_lose_and_repeat_nothing(source):
    provider, config, engine = source
    config = {**config, "page_size": 5}
    insert_events(engine, [(i, "2024-01-01 00:00:00") for i in range(1, 4)]
                  + [(i, "2024-01-02 00:00:00") for i in range(4, 21)]  # 17 equal values across 4 pages
                  + [(i, "2024-01-03 00:00:00") for i in range(21, 24)] + [(99, None)])
    records, states = read(provider, config, "events")
    assert [r.data["id"] for r in records] == list(range(1, 24))
    assert len(states) >= 5 and states[2]["pk"] == [15]
    # resuming from a mid-sync checkpoint reads only what follows it
    resumed, _ = read(provider, config, "events", states[1])
    assert [r.data["id"] for r in resumed] == list(range(11, 24))
    nothing, final = read(provider, config, "events", states[-1])
    assert nothing == [] and final[-1] == states[-1]
    # a late commit with an older cursor value: missed without look-back, re-read with it
    insert_events(engine, [(50, "2024-01-02 23:00:00"), (60, "2024-01-03 00:00:00"), (70, "2024-01-04 00:00:00")])
    strict, _ = read(provider, config, "events", states[-1])
    assert [r.data["id"] for r in strict] == [60, 70]
    looked_back, _ = read(provider, {**config, "lookback_seconds": 3600}, "events", states[-1])
    ids = [r.data["id"] for r in looked_back]
    assert ids == [50, 21, 22, 23, 60, 70] and max(Counter(ids).values()) == 1


def test_full_read_takes_every_row_and_ends_at_the_cursor_position(source):
    provider, config, engine = source
    insert_events(engine, [(i, f"2024-01-0{1 + i % 3} 00:00:00") for i in range(1, 13)] + [(13, None)])
    records, states = read(provider, {**config, "page_size": 4}, "events", mode="full")
    assert sorted(r.data["id"] for r in records) == list(range(1, 14))
    assert "full_pk" in states[1] and "full_pk" not in states[-1]
    assert states[-1]["pk"] == [11] and states[-1]["cursor"].startswith("2024-01-03T00:00:00")
    resumed, _ = read(provider, {**config, "page_size": 4}, "events", states[1], mode="full")
    assert [r.data["id"] for r in resumed] == list(range(9, 14))


def test_a_table_without_a_primary_key_is_streamed_once_and_content_keyed(source):
    provider, config, engine = source
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE audit_log (last_modified timestamp NULL, msg text)"))
        conn.execute(sa.text("INSERT INTO audit_log VALUES ('2024-01-01 00:00:00', 'a'), ('2024-01-02 00:00:00', 'b'), (NULL, 'c')"))
    spec = next(s for s in connector_class(provider)(config).discover() if s.name == "audit_log")
    assert spec.content_key and spec.cursor_field == "last_modified"
    records, states = read(provider, config, "audit_log")
    assert sorted(r.data["msg"] for r in records) == ["a", "b", "c"] and states[-1] == {"cursor": "2024-01-02T00:00:00"}
    later, _ = read(provider, config, "audit_log", states[-1])
    assert later == []


@pytest.mark.parametrize("provider", ["postgres", "mysql"])
def test_a_superuser_login_is_refused(provider, source_server_url):
    from autonomos.aam.connectors.sandbox import SourceRefused

    url = source_server_url.render_as_string(hide_password=False) if provider == "postgres" else MARIADB + "mysql"
    connector = connector_class(provider)({"url": url})
    try:
        with pytest.raises(SourceRefused, match="superuser"):
            connector.discover()
        assert connector.check().message.startswith("refused: this login is a superuser")
    finally:
        connector.close()
